"""Defaults, parsing and validation of the voting app's configuration."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

Build = Literal["locked", "unlocked", "sqlite", "naive"]
BUILDS: Final[tuple[Build, ...]] = get_args(Build)

ENV_PREFIX: Final = "RACECHECK"

# Keys whose values are text. Flask's from_prefixed_env JSON-decodes every value, so a secret
# such as "12345" or "1e10" would arrive as a number and a path like "null" as None; these keys
# are therefore re-read verbatim from the environment.
TEXT_KEYS: Final = ("BUILD", "DATABASE", "SECRET_KEY")

MAX_RACE_WINDOW: Final = 60.0

DEFAULTS: Final[Mapping[str, Any]] = {
    "BUILD": "locked",
    "RACE_WINDOW": 0.0,
    "SWITCH_INTERVAL": None,
    "FAULT_INJECTION": False,
    "DATABASE": None,
    "SECRET_KEY": None,
    "MAX_CONTENT_LENGTH": 16 * 1024,
    "MAX_TEXT_LENGTH": 200,
}

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class Settings:
    """The validated knobs of one app instance."""

    build: Build
    race_window: float
    switch_interval: float | None
    fault_injection: bool
    database: str | None
    max_text_length: int
    max_content_length: int

    @property
    def storage(self) -> Literal["memory", "sqlite"]:
        """Where the counts live: the sqlite build keeps them in a file, the others in memory."""
        return "sqlite" if self.build == "sqlite" else "memory"


def raw_text_from_env(config: MutableMapping[str, Any], environ: Mapping[str, str]) -> None:
    """Overwrite the text keys with their undecoded environment values, when set."""
    for key in TEXT_KEYS:
        value = environ.get(f"{ENV_PREFIX}_{key}")
        if value is not None:
            config[key] = value


def load_settings(config: Mapping[str, Any]) -> Settings:
    """Validate a Flask config mapping; raise ValueError saying which values are allowed."""
    return Settings(
        build=_build(config.get("BUILD", DEFAULTS["BUILD"])),
        race_window=_race_window(config.get("RACE_WINDOW", DEFAULTS["RACE_WINDOW"])),
        switch_interval=_switch_interval(config.get("SWITCH_INTERVAL")),
        fault_injection=_flag("FAULT_INJECTION", config.get("FAULT_INJECTION", False)),
        database=_optional_text("DATABASE", config.get("DATABASE")),
        max_text_length=_positive_int(
            "MAX_TEXT_LENGTH", config.get("MAX_TEXT_LENGTH", DEFAULTS["MAX_TEXT_LENGTH"])
        ),
        max_content_length=_positive_int(
            "MAX_CONTENT_LENGTH",
            config.get("MAX_CONTENT_LENGTH", DEFAULTS["MAX_CONTENT_LENGTH"]),
        ),
    )


def secret_key(value: object) -> str | bytes | None:
    """Return the configured secret key, or None when none was given (empty counts as none)."""
    if value is None or value in ("", b""):
        return None
    if isinstance(value, str | bytes):
        return value
    raise ValueError(
        f"SECRET_KEY must be a string (set {ENV_PREFIX}_SECRET_KEY), got {type(value).__name__}; "
        "leave it unset to get a random key per process"
    )


def _build(value: object) -> Build:
    name = value.strip().lower() if isinstance(value, str) else value
    if name not in BUILDS:
        raise ValueError(
            f"BUILD must be one of {', '.join(BUILDS)} (set {ENV_PREFIX}_BUILD), got {value!r}"
        )
    return name


def _number(key: str, value: object) -> float:
    # bool is an int subclass; True seconds is a mistake, not a number.
    if isinstance(value, bool):
        raise ValueError(f"{key} must be a number of seconds, got {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"{key} must be a number of seconds, got {value!r}") from None
    else:
        raise ValueError(f"{key} must be a number of seconds, got {value!r}")
    if not math.isfinite(number):
        raise ValueError(f"{key} must be a finite number of seconds, got {value!r}")
    return number


def _race_window(value: object) -> float:
    # -1 means "no pause, only a function call" (see MemoryStore).
    number = _number("RACE_WINDOW", value)
    if number != -1 and not 0 <= number <= MAX_RACE_WINDOW:
        raise ValueError(
            f"RACE_WINDOW must be between 0 and {MAX_RACE_WINDOW:g} seconds, or -1 for a "
            f"function-call-only window (no sleep), got {value!r}"
        )
    return number


def _switch_interval(value: object) -> float | None:
    if value is None or value == "":
        return None
    number = _number("SWITCH_INTERVAL", value)
    # sys.setswitchinterval refuses zero and negatives; say so before the server starts.
    if number <= 0:
        raise ValueError(
            f"SWITCH_INTERVAL must be a positive number of seconds (e.g. 0.000001), got {value!r}"
        )
    return number


def _flag(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"{key} must be true or false (also 1/0, yes/no, on/off), got {value!r}")


def _optional_text(key: str, value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    raise ValueError(f"{key} must be a file path (a string), got {value!r}")


def _positive_int(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{key} must be a positive whole number, got {value!r}")
    return value
