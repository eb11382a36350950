"""Written the way a racecheck user writes it: thread safety as an ordinary test of their app.

No imports from racecheck's internals: the fixtures come from the installed
pytest plugin, ``assert_verdict`` is its one helper.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from loadtests.pytest_plugin import assert_verdict

pytestmark = [pytest.mark.e2e]

Run = Callable[..., Any]

# A like counter as people write it: read, do some I/O, write back. Not thread-safe.
LIKES_APP = """
import time
from flask import Flask, jsonify

def create_app():
    app = Flask(__name__)
    likes = {"a": 0}

    @app.post("/like/<item>")
    def like(item):
        seen = likes.get(item, 0)
        time.sleep(0.0005)  # the database call a real handler makes here
        likes[item] = seen + 1
        return jsonify(likes=seen + 1)

    @app.get("/likes")
    def read():
        return jsonify(likes)

    return app
"""


def test_the_voting_app_loses_no_vote_across_locust_workers(racecheck_run: Run) -> None:
    outcome = racecheck_run(build="locked", driver="locust", processes=2, clients=8, votes=600)

    assert_verdict(outcome, "PASS")
    assert sum(c.ok for c in outcome.verdict.counts.values()) == 600
    assert all(c.ok == c.final and c.info == 0 for c in outcome.verdict.counts.values())


def test_my_like_counter_is_caught_losing_likes(
    racecheck_target: Callable[..., Any], racecheck_run: Run, tmp_path: Path
) -> None:
    (tmp_path / "likes.py").write_text(LIKES_APP, encoding="utf-8")
    target = racecheck_target(app="likes:create_app", threads=16, pythonpath=(str(tmp_path),))
    (tmp_path / "likes.toml").write_text(
        textwrap.dedent(
            f"""
            [target]
            url = "{target.url}"

            [[counters]]
            name = "a"
            increment = {{ method = "POST", path = "/like/a" }}
            returns = {{ json = "likes" }}
            read = {{ method = "GET", path = "/likes", json = "a" }}
            """
        ),
        encoding="utf-8",
    )

    outcome = racecheck_run(target_file=tmp_path / "likes.toml", clients=16, votes=800)

    assert_verdict(outcome, "FAIL")
    assert outcome.verdict.lost > 0
    assert outcome.exit_code == 1
