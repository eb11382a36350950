"""The stall switch a nemesis flips through `/_racecheck/faults` (only with FAULT_INJECTION)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Final, Literal, cast, get_args

from flask import Blueprint, abort, jsonify

from target_app import inputs
from target_app.state import current_state

Where = Literal["before", "after"]
MAX_STALL_SECONDS: Final = 60.0
MAX_FOR_SECONDS: Final = 3600.0
HINT: Final = (
    'send {"stall_seconds": 0.5, "for_seconds": 10, "where": "after"}; where is "before" '
    f'or "after", stall_seconds at most {MAX_STALL_SECONDS:g}, for_seconds at most '
    f"{MAX_FOR_SECONDS:g}"
)


@dataclass(frozen=True)
class Stall:
    """An armed stall: how long each vote sleeps, where, and until when (monotonic clock)."""

    stall_seconds: float
    for_seconds: float
    where: Where
    until: float

    def remaining(self) -> float:
        """Seconds until the stall disarms itself."""
        return max(0.0, self.until - time.monotonic())


class FaultSwitch:
    """Holds at most one armed stall; swapped whole, so readers need no lock."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._stall: Stall | None = None

    def arm(self, stall_seconds: float, for_seconds: float, where: Where) -> Stall:
        """Stall every vote for the next `for_seconds`."""
        stall = Stall(stall_seconds, for_seconds, where, time.monotonic() + for_seconds)
        self._stall = stall
        return stall

    def disarm(self) -> None:
        """Stop stalling at once."""
        self._stall = None

    def active(self) -> Stall | None:
        """The stall in force now, if any."""
        stall = self._stall
        return stall if stall is not None and stall.remaining() > 0 else None

    def pause(self, where: Where) -> None:
        """Sleep here if a stall is armed for this point of a vote."""
        stall = self.active()
        if stall is not None and stall.where == where:
            time.sleep(stall.stall_seconds)


bp = Blueprint("faults", __name__, url_prefix="/_racecheck")


def _switch() -> FaultSwitch:
    switch = current_state().faults
    if not switch.enabled:
        # Answer as if the route did not exist: a production-like target has no such door.
        abort(
            404,
            description="fault injection is off; start the target with "
            "RACECHECK_FAULT_INJECTION=true to use /_racecheck/faults",
        )
    return switch


def _describe(stall: Stall | None) -> dict[str, Any]:
    if stall is None:
        return {"armed": False, "pid": os.getpid()}
    return {
        "armed": True,
        "stall_seconds": stall.stall_seconds,
        "for_seconds": stall.for_seconds,
        "remaining_seconds": round(stall.remaining(), 3),
        "where": stall.where,
        "pid": os.getpid(),
    }


@bp.get("/faults")
def show() -> Any:
    """Report the stall in force in this process, if any."""
    return jsonify(_describe(_switch().active()))


@bp.post("/faults")
def arm() -> Any:
    """Arm a stall for every /api/votes request in this process."""
    switch = _switch()
    body = inputs.json_object(HINT)
    stall_seconds = inputs.seconds_field(
        body, "stall_seconds", maximum=MAX_STALL_SECONDS, hint=HINT
    )
    for_seconds = inputs.seconds_field(body, "for_seconds", maximum=MAX_FOR_SECONDS, hint=HINT)
    where: Where = "after"
    if "where" in body:
        where = cast(Where, inputs.one_of(body, "where", get_args(Where), hint=HINT))
    return jsonify(_describe(switch.arm(stall_seconds, for_seconds, where)))


@bp.delete("/faults")
def disarm() -> Any:
    """Disarm the stall in this process."""
    switch = _switch()
    switch.disarm()
    return jsonify(_describe(None))
