"""Shared fixtures: the voting app under each build, and a test client for it."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from target_app import create_app
from target_app.config import BUILDS

AppFactory = Callable[..., Flask]


def pytest_configure(config: pytest.Config) -> None:
    """Let Ctrl-C reach this process and every command it starts, however it was launched.

    A shell without job control starts a background command (`cmd &`) with SIGINT
    ignored; children inherit that across exec, and Python then installs no
    KeyboardInterrupt handler, so the Ctrl-C tests would wait for an exit that never
    comes. exec resets a handled signal to its default but keeps an ignored one, so
    handling SIGINT here gives the commands the tests start the SIGINT a terminal would.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide any RACECHECK_* variables of the surrounding shell from the app under test."""
    for name in list(os.environ):
        if name.startswith("RACECHECK_"):
            monkeypatch.delenv(name)


@pytest.fixture
def restore_switch_interval() -> Iterator[None]:
    """Undo a process-wide sys.setswitchinterval made by create_app."""
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)


@pytest.fixture(params=BUILDS)
def build(request: pytest.FixtureRequest) -> str:
    """Each build in turn; narrow it with @pytest.mark.parametrize("build", [...])."""
    name: str = request.param
    return name


@pytest.fixture
def make_app(
    clean_env: None, restore_switch_interval: None, tmp_path: Path
) -> Callable[..., Flask]:
    """Return a factory for apps with TESTING on and a database under tmp_path."""
    counter = iter(range(1_000_000))

    def make(config: Mapping[str, Any] | None = None, **overrides: Any) -> Flask:
        settings: dict[str, Any] = {
            "TESTING": True,
            "DATABASE": str(tmp_path / f"votes-{next(counter)}.sqlite3"),
        }
        settings.update(config or {})
        settings.update(overrides)
        return create_app(settings)

    return make


@pytest.fixture
def app(make_app: AppFactory, build: str) -> Flask:
    """The voting app under the build chosen by the `build` fixture."""
    return make_app(BUILD=build)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for `app`."""
    return app.test_client()
