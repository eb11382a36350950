"""The `racecheck run` command line that repeats a run, rebuilt from its settings."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from loadtests import defaults

# (settings key, flag, value the CLI assumes when the flag is absent)
_OPTIONS: tuple[tuple[str, str, Any], ...] = (
    ("build", "--build", None),
    ("server", "--server", None),
    ("threads", "--threads", None),
    ("workers", "--workers", None),
    ("driver", "--driver", "requests"),
    ("clients", "--clients", None),
    ("votes", "--votes", None),
    ("duration", "--duration", None),
    ("target_url", "--target-url", None),
    ("app", "--app", None),
    ("target_file", "--target", None),
    ("expect", "--expect", None),
    ("processes", "--processes", 1),
    ("nemesis_schedule", "--nemesis-schedule", None),
    ("race_window", "--race-window", None),
    ("switch_interval", "--switch-interval", None),
    ("timeout", "--timeout", defaults.TIMEOUT),
    ("seed", "--seed", 0),
    ("read_every", "--read-every", None),
)
_FLAGS = (("allow_remote", "--allow-remote"), ("burst", "--burst"), ("preempt", "--preempt"))
# Only meaningful with --preempt: the density and its seed, so the run repeats as it was.
_PREEMPT_OPTIONS: tuple[tuple[str, str, Any], ...] = (
    ("preempt_rate", "--preempt-rate", defaults.PREEMPT_RATE),
    ("preempt_seed", "--preempt-seed", defaults.PREEMPT_SEED),
)


def command_from_settings(settings: Mapping[str, Any]) -> str:
    """A shell-quoted `racecheck run ...` for these settings (result.json's "settings")."""
    words = ["racecheck", "run"]
    for key, flag, default in _OPTIONS:
        value = settings.get(key)
        if key == "build" and settings.get("target_file"):
            continue  # a target file names its own app; --build would be ignored
        if value is None or value == default:
            continue
        words += [flag, _format(value)]
    for name in settings.get("nemesis") or ():
        words += ["--nemesis", str(name)]
    for key, flag in _FLAGS:
        if settings.get(key):
            words.append(flag)
    if settings.get("preempt"):
        for key, flag, default in _PREEMPT_OPTIONS:
            value = settings.get(key)
            if value is not None and value != default:
                words += [flag, _format(value)]
        for module in settings.get("preempt_modules") or ():
            words += ["--preempt-module", str(module)]
    return shlex.join(words)


def _format(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def reproduce_command(result: Mapping[str, Any]) -> str:
    """The command recorded with the run, or one rebuilt from its settings."""
    recorded = result.get("command")
    if isinstance(recorded, str) and recorded.strip():
        return recorded
    return command_from_settings(result.get("settings") or {})
