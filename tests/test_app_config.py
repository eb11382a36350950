"""create_app's configuration: defaults, environment, overrides, and refusal of bad values."""

from __future__ import annotations

import gc
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from target_app import create_app, db
from target_app.config import Settings
from target_app.state import AppState, state_of
from target_app.store import MemoryStore, SqliteStore

AppFactory = Callable[..., Flask]


def settings(app: Flask) -> Settings:
    return state_of(app).settings


def test_defaults(make_app: AppFactory) -> None:
    app = make_app()
    assert settings(app) == Settings(
        build="locked",
        race_window=0.0,
        switch_interval=None,
        fault_injection=False,
        database=app.config["DATABASE"],
        max_text_length=200,
        max_content_length=16 * 1024,
    )
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * 1024
    assert app.config["BUILD"] == "locked"


def test_state_lives_on_each_app(make_app: AppFactory) -> None:
    first, second = make_app(), make_app()
    assert isinstance(first.extensions["racecheck"], AppState)
    first.test_client().post("/api/resolutions", json={"text": "only on the first"})
    assert second.test_client().get("/api/tally").get_json()["resolution"] is None


@pytest.mark.parametrize(
    ("build", "store"),
    [("locked", MemoryStore), ("unlocked", MemoryStore), ("sqlite", SqliteStore)],
)
def test_each_build_gets_its_store(make_app: AppFactory, build: str, store: type[object]) -> None:
    assert type(state_of(make_app(BUILD=build)).store) is store


def test_environment_is_read(
    monkeypatch: pytest.MonkeyPatch, clean_env: None, restore_switch_interval: None, tmp_path: Path
) -> None:
    database = str(tmp_path / "env.sqlite3")
    for name, value in {
        "BUILD": "sqlite",
        "RACE_WINDOW": "0.002",
        "SWITCH_INTERVAL": "0.0005",
        "FAULT_INJECTION": "true",
        "DATABASE": database,
        "SECRET_KEY": "1234e5",  # JSON would read this as a number; it must stay text
    }.items():
        monkeypatch.setenv(f"RACECHECK_{name}", value)
    app = create_app()
    assert settings(app) == Settings(
        build="sqlite",
        race_window=0.002,
        switch_interval=0.0005,
        fault_injection=True,
        database=database,
        max_text_length=200,
        max_content_length=16 * 1024,
    )
    assert app.config["SECRET_KEY"] == "1234e5"
    assert app.test_client().get("/health").get_json()["storage"] == "sqlite"
    assert Path(database).exists()


def test_test_config_wins_over_environment(
    monkeypatch: pytest.MonkeyPatch, make_app: AppFactory
) -> None:
    monkeypatch.setenv("RACECHECK_BUILD", "sqlite")
    monkeypatch.setenv("RACECHECK_RACE_WINDOW", "5")
    app = make_app(BUILD="unlocked", RACE_WINDOW=0)
    assert (settings(app).build, settings(app).race_window) == ("unlocked", 0.0)


@pytest.mark.parametrize(
    ("key", "value", "parsed"),
    [
        ("BUILD", " Unlocked ", "unlocked"),
        ("RACE_WINDOW", "0.5", 0.5),
        ("RACE_WINDOW", 1, 1.0),
        ("RACE_WINDOW", -1, -1.0),  # the function-call-only window
        ("FAULT_INJECTION", "yes", True),
        ("FAULT_INJECTION", "off", False),
        ("FAULT_INJECTION", 1, True),
        ("SWITCH_INTERVAL", "", None),
    ],
)
def test_spellings_are_normalised(make_app: AppFactory, key: str, value: Any, parsed: Any) -> None:
    app = make_app({key: value})
    assert app.config[key] == parsed


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("BUILD", "fast", "BUILD must be one of locked, unlocked, sqlite"),
        ("BUILD", None, "BUILD must be one of"),
        ("RACE_WINDOW", 61, "between 0 and 60 seconds, or -1"),
        ("RACE_WINDOW", "-0.1", "between 0 and 60 seconds, or -1"),
        ("RACE_WINDOW", "soon", "RACE_WINDOW must be a number of seconds"),
        ("RACE_WINDOW", True, "RACE_WINDOW must be a number of seconds"),
        ("RACE_WINDOW", float("nan"), "finite"),
        ("SWITCH_INTERVAL", 0, "SWITCH_INTERVAL must be a positive number"),
        ("SWITCH_INTERVAL", -1, "SWITCH_INTERVAL must be a positive number"),
        ("SWITCH_INTERVAL", "fast", "SWITCH_INTERVAL must be a number"),
        ("FAULT_INJECTION", "maybe", "FAULT_INJECTION must be true or false"),
        ("FAULT_INJECTION", 2, "FAULT_INJECTION must be true or false"),
        ("DATABASE", 5, "DATABASE must be a file path"),
        ("SECRET_KEY", 5, "SECRET_KEY must be a string"),
        ("MAX_TEXT_LENGTH", 0, "MAX_TEXT_LENGTH must be a positive whole number"),
        ("MAX_CONTENT_LENGTH", "16k", "MAX_CONTENT_LENGTH must be a positive whole number"),
    ],
)
def test_bad_config_is_refused(make_app: AppFactory, key: str, value: Any, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        make_app({key: value})


def test_bad_environment_is_refused(monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    monkeypatch.setenv("RACECHECK_BUILD", "bogus")
    with pytest.raises(ValueError, match="RACECHECK_BUILD"):
        create_app()


def test_secret_key_is_random_per_app(make_app: AppFactory) -> None:
    keys = {make_app().config["SECRET_KEY"] for _ in range(3)}
    assert len(keys) == 3
    for key in keys:
        assert re.fullmatch(r"[0-9a-f]{64}", key)


@pytest.mark.parametrize("given", ["", None])
def test_empty_secret_key_means_random(make_app: AppFactory, given: str | None) -> None:
    assert len(make_app(SECRET_KEY=given).config["SECRET_KEY"]) == 64


def test_no_secret_key_in_the_source() -> None:
    source = Path(db.__file__).parent
    for path in source.glob("*.py"):
        assert not re.search(r"SECRET_KEY\W+=\W+['\"]", path.read_text()), path


def test_switch_interval_is_set_in_this_process(make_app: AppFactory) -> None:
    make_app(SWITCH_INTERVAL=0.0001)
    assert sys.getswitchinterval() == pytest.approx(0.0001)


def test_sqlite_default_database_is_a_fresh_file_removed_with_the_app(
    make_app: AppFactory,
) -> None:
    app = make_app(BUILD="sqlite", DATABASE=None)
    path = Path(app.config["DATABASE"])
    client = app.test_client()
    client.post("/api/resolutions", json={"text": "temp"})
    assert client.post("/api/votes", json={"choice": "no", "vote_id": "1"}).status_code == 200
    assert path.exists()
    assert make_app(BUILD="sqlite", DATABASE=None).config["DATABASE"] != str(path)

    del app, client
    gc.collect()
    assert not path.exists()
    assert not Path(f"{path}-wal").exists()


def test_a_forked_worker_leaves_the_shared_database_alone(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    path.write_bytes(b"")
    db._remove_files(str(path), owner_pid=os.getpid() + 1)
    assert path.exists()
    db._remove_files(str(path), owner_pid=os.getpid())
    assert not path.exists()


@pytest.mark.parametrize("build", ["locked", "unlocked"])
def test_memory_builds_create_no_database_file(
    make_app: AppFactory, tmp_path: Path, build: str
) -> None:
    assert make_app(BUILD=build, DATABASE=None).config["DATABASE"] is None
    make_app(BUILD=build)
    assert list(tmp_path.iterdir()) == []
