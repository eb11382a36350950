"""The classroom voting app: the reference target for racecheck.

`create_app(test_config)` reads these keys (environment variable RACECHECK_<KEY>):
BUILD (locked | unlocked | sqlite | naive), RACE_WINDOW (seconds between read and write, default 0;
-1: no sleep, a function call only),
SWITCH_INTERVAL (sys.setswitchinterval for this process), FAULT_INJECTION (enables
/_racecheck/faults), DATABASE (the sqlite build's file; default a fresh temporary file),
SECRET_KEY (default random per process), MAX_TEXT_LENGTH (200), MAX_CONTENT_LENGTH (16 KiB).
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from typing import Any

from flask import Flask

from target_app import api, config, db, errors, faults, views
from target_app.state import EXTENSION_KEY, AppState
from target_app.store import MemoryStore, NaiveStore, SqliteStore, VoteStore

__all__ = ["create_app"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the voting app: defaults, then RACECHECK_* environment, then `test_config`."""
    app = Flask(__name__)
    app.config.from_mapping(config.DEFAULTS)
    app.config.from_prefixed_env(config.ENV_PREFIX)
    config.raw_text_from_env(app.config, os.environ)
    if test_config is not None:
        app.config.from_mapping(test_config)

    # Refuse bad settings now, while the server is starting, not on the first request.
    settings = config.load_settings(app.config)
    key = config.secret_key(app.config["SECRET_KEY"])
    # Never a constant: with no key given, each process signs its sessions with its own.
    app.config["SECRET_KEY"] = key if key is not None else secrets.token_hex(32)
    app.config.update(
        BUILD=settings.build,
        RACE_WINDOW=settings.race_window,
        SWITCH_INTERVAL=settings.switch_interval,
        FAULT_INJECTION=settings.fault_injection,
        MAX_TEXT_LENGTH=settings.max_text_length,
        MAX_CONTENT_LENGTH=settings.max_content_length,
    )

    if settings.switch_interval is not None:
        # Process-wide on purpose: create_app runs in the server process, and a shorter
        # interval makes the interpreter switch threads more often (stress mode).
        sys.setswitchinterval(settings.switch_interval)

    app.extensions[EXTENSION_KEY] = AppState(
        settings=settings,
        store=_make_store(app, settings),
        faults=faults.FaultSwitch(enabled=settings.fault_injection),
    )

    # Block tags on lines of their own leave no blank lines behind in the page.
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True
    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    # Always routed, so that with fault injection off the reply can say how to turn it on.
    app.register_blueprint(faults.bp)
    errors.init_app(app)
    return app


def _make_store(app: Flask, settings: config.Settings) -> VoteStore:
    if settings.build == "naive":
        return NaiveStore()
    if settings.build != "sqlite":
        return MemoryStore(locked=settings.build == "locked", race_window=settings.race_window)
    path = settings.database if settings.database is not None else db.temporary_database(app)
    # Workers forked after this point (gunicorn --preload) inherit the path; separately started
    # workers must be given the same RACECHECK_DATABASE to share one file.
    app.config["DATABASE"] = path
    db.init_schema(path)
    app.teardown_appcontext(db.close_request_connection)
    return SqliteStore(path, connection=db.request_connection(path))
