"""What one app instance carries in `app.extensions`: its settings, store and fault switch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from flask import Flask, current_app

if TYPE_CHECKING:
    from target_app.config import Settings
    from target_app.faults import FaultSwitch
    from target_app.store import VoteStore

EXTENSION_KEY: Final = "racecheck"


@dataclass(frozen=True)
class AppState:
    """Everything a request may touch that outlives the request."""

    settings: Settings
    store: VoteStore
    faults: FaultSwitch


def state_of(app: Flask) -> AppState:
    """Return the racecheck state of `app`."""
    state: AppState = app.extensions[EXTENSION_KEY]
    return state


def current_state() -> AppState:
    """Return the racecheck state of the app handling the current request."""
    return state_of(current_app)
