"""Fault injection during a run (the nemesis). No faults are implemented yet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from loadtests.errors import UsageError
from loadtests.history import History

if TYPE_CHECKING:
    from loadtests.launcher import RunningTarget
    from loadtests.run import RunSettings

NEMESES: tuple[str, ...] = ()


def validate(names: Sequence[str]) -> None:
    """Refuse unknown nemesis names before anything starts."""
    for name in names:
        if name not in NEMESES:
            known = ", ".join(NEMESES) or "none yet"
            raise UsageError(f"unknown --nemesis {name!r}; known: {known}")


class NemesisSet:
    """The running faults of one run; stop() ends them all."""

    def stop(self) -> None:
        """End every fault (nothing to end yet)."""


def start_nemeses(
    settings: RunSettings, target: RunningTarget | None, history: History
) -> NemesisSet:
    """Start the faults the settings name, recording each in ``history``."""
    validate(settings.nemesis)
    return NemesisSet()
