"""The JSON API: every route, every refusal, and that refusals change nothing."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

VOTE = {"choice": "yes", "vote_id": "v-1"}


def tally(client: FlaskClient) -> dict[str, Any]:
    """The current tally, minus the pid (which never changes within a test)."""
    reply = client.get("/api/tally")
    assert reply.status_code == 200
    body: dict[str, Any] = reply.get_json()
    assert body.pop("pid") == os.getpid()
    return body


def assert_error(reply: TestResponse, status: int, *words: str) -> str:
    """Check a JSON refusal and return its message."""
    assert reply.status_code == status, reply.get_data(as_text=True)
    assert reply.mimetype == "application/json"
    body = reply.get_json()
    assert set(body) == {"error", "pid"}
    assert body["pid"] == os.getpid()  # which process refused: evidence of split state
    message: str = body["error"]
    for word in words:
        assert word in message
    return message


def start(client: FlaskClient, text: str = "Homework is optional") -> dict[str, Any]:
    reply = client.post("/api/resolutions", json={"text": text})
    assert reply.status_code == 201, reply.get_json()
    body: dict[str, Any] = reply.get_json()
    return body


def test_health(client: FlaskClient, build: str) -> None:
    reply = client.get("/health")
    assert reply.status_code == 200
    assert reply.get_json() == {
        "status": "ok",
        "build": build,
        "pid": os.getpid(),
        "storage": "sqlite" if build == "sqlite" else "memory",
    }


def test_openapi_document_is_served(client: FlaskClient) -> None:
    reply = client.get("/api/openapi.json")
    assert reply.status_code == 200
    document = reply.get_json()
    assert document["openapi"].startswith("3.0")
    assert set(document["paths"]) == {
        "/health",
        "/api/resolutions",
        "/api/votes",
        "/api/resolutions/current/stop",
        "/api/tally",
    }


def test_tally_before_anything_started(client: FlaskClient) -> None:
    assert tally(client) == {"resolution": None, "yes": 0, "no": 0}


def test_start_vote_stop(client: FlaskClient) -> None:
    resolution = start(client, "  Homework is optional  ")
    assert resolution == {"id": 1, "text": "Homework is optional", "state": "voting"}

    replies = [
        client.post("/api/votes", json={"choice": choice, "vote_id": f"v{i}"})
        for i, choice in enumerate(["yes", "yes", "no"])
    ]
    assert [reply.status_code for reply in replies] == [200, 200, 200]
    assert replies[1].get_json() == {
        "resolution_id": 1,
        "choice": "yes",
        "count": 2,
        "pid": os.getpid(),
        "vote_id": "v1",
    }
    assert replies[2].get_json()["count"] == 1
    assert tally(client) == {"resolution": resolution, "yes": 2, "no": 1}

    stopped = client.post("/api/resolutions/current/stop")
    assert stopped.status_code == 200
    assert stopped.get_json() == {
        "id": 1,
        "text": "Homework is optional",
        "yes": 2,
        "no": 1,
        "outcome": "passes",
    }
    # After the stop the tally keeps showing the closed resolution with its final counts.
    closed = {**resolution, "state": "closed"}
    assert tally(client) == {"resolution": closed, "yes": 2, "no": 1}


@pytest.mark.parametrize(
    ("yes", "no", "outcome"), [(1, 2, "fails"), (2, 2, "tied"), (0, 0, "tied")]
)
def test_stop_outcomes(client: FlaskClient, yes: int, no: int, outcome: str) -> None:
    start(client)
    for choice, times in (("yes", yes), ("no", no)):
        for _ in range(times):
            client.post("/api/votes", json={"choice": choice, "vote_id": "x"})
    reply = client.post("/api/resolutions/current/stop")
    assert reply.get_json()["outcome"] == outcome
    assert (reply.get_json()["yes"], reply.get_json()["no"]) == (yes, no)


def test_a_new_resolution_starts_from_zero(client: FlaskClient) -> None:
    start(client, "first")
    client.post("/api/votes", json=VOTE)
    client.post("/api/resolutions/current/stop")
    second = start(client, "second")
    assert second["id"] == 2
    assert tally(client) == {"resolution": second, "yes": 0, "no": 0}
    assert client.post("/api/votes", json=VOTE).get_json()["count"] == 1


def test_conflicts_are_409_and_change_nothing(client: FlaskClient) -> None:
    assert_error(client.post("/api/votes", json=VOTE), 409, "no vote is in progress")
    assert_error(client.post("/api/resolutions/current/stop"), 409, "nothing to stop")
    assert tally(client) == {"resolution": None, "yes": 0, "no": 0}

    start(client, "first")
    client.post("/api/votes", json=VOTE)
    before = tally(client)
    assert_error(
        client.post("/api/resolutions", json={"text": "second"}), 409, "already in progress"
    )
    assert tally(client) == before

    client.post("/api/resolutions/current/stop")
    after_stop = tally(client)
    assert_error(client.post("/api/votes", json=VOTE), 409, "start one")
    assert_error(client.post("/api/resolutions/current/stop"), 409)
    assert tally(client) == after_stop


def _raw(data: str | bytes, content_type: str | None = "application/json") -> dict[str, Any]:
    return {"data": data, "content_type": content_type}


BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("no content type", _raw('{"choice": "yes"}', None), "Content-Type: application/json"),
    ("form encoded", _raw("choice=yes", "application/x-www-form-urlencoded"), "must be JSON"),
    ("text/plain", _raw('{"choice": "yes"}', "text/plain"), "must be JSON"),
    ("empty body", _raw(""), "not valid JSON"),
    ("broken JSON", _raw('{"choice": '), "not valid JSON"),
    ("bad UTF-8", _raw(b'{"choice": "\xff"}'), "not valid JSON"),
    ("deep nesting", _raw("[" * 5000 + "]" * 5000), "not valid JSON"),
    ("array", {"json": ["yes"]}, "not an array"),
    ("string", {"json": "yes"}, "not a string"),
    ("number", {"json": 1}, "not a number"),
    ("null", _raw("null"), "not null"),
]


@pytest.mark.parametrize("path", ["/api/resolutions", "/api/votes"])
@pytest.mark.parametrize(("case", "kwargs", "words"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bodies_that_are_not_json_objects_are_refused(
    client: FlaskClient, path: str, case: str, kwargs: dict[str, Any], words: str
) -> None:
    start(client, "open")
    before = tally(client)
    message = assert_error(client.post(path, **kwargs), 400, words)
    assert "send a JSON object like" in message
    assert tally(client) == before


BAD_VOTES: list[tuple[dict[str, Any], str]] = [
    ({}, "missing field 'choice'"),
    ({"vote_id": "a"}, "missing field 'choice'"),
    ({"choice": "maybe", "vote_id": "a"}, 'must be "yes" or "no"'),
    ({"choice": "YES", "vote_id": "a"}, 'must be "yes" or "no"'),
    ({"choice": 1, "vote_id": "a"}, 'must be "yes" or "no"'),
    ({"choice": None, "vote_id": "a"}, 'must be "yes" or "no"'),
    ({"choice": ["yes"], "vote_id": "a"}, "got an array"),
    ({"choice": "yes"}, "missing field 'vote_id'"),
    ({"choice": "yes", "vote_id": ""}, "1 to 128 characters"),
    ({"choice": "yes", "vote_id": "x" * 129}, "got 129"),
    ({"choice": "yes", "vote_id": 7}, "must be a string, not a number"),
    ({"choice": "yes", "vote_id": None}, "must be a string, not null"),
]


@pytest.mark.parametrize(("body", "words"), BAD_VOTES)
def test_bad_votes_are_refused(client: FlaskClient, body: dict[str, Any], words: str) -> None:
    start(client, "open")
    client.post("/api/votes", json=VOTE)
    before = tally(client)
    message = assert_error(client.post("/api/votes", json=body), 400, words)
    assert '{"choice": "yes", "vote_id": "abc"}' in message
    assert tally(client) == before


def test_vote_refusals_win_over_conflicts(client: FlaskClient) -> None:
    # Bad input is a 400 even when no vote is open: the client must fix the request first.
    assert_error(client.post("/api/votes", json={"choice": "maybe"}), 400)


def test_longest_vote_id_is_accepted(client: FlaskClient) -> None:
    start(client)
    reply = client.post("/api/votes", json={"choice": "no", "vote_id": "x" * 128})
    assert reply.status_code == 200
    assert reply.get_json()["vote_id"] == "x" * 128


BAD_RESOLUTIONS: list[tuple[dict[str, Any], str]] = [
    ({}, "missing field 'text'"),
    ({"title": "x"}, "missing field 'text'"),
    ({"text": 5}, "must be a string, not a number"),
    ({"text": ["x"]}, "not an array"),
    ({"text": ""}, "1 to 200 characters"),
    ({"text": "   \t\n"}, "blank"),
    ({"text": "x" * 201}, "got 201"),
]


@pytest.mark.parametrize(("body", "words"), BAD_RESOLUTIONS)
def test_bad_resolutions_are_refused(client: FlaskClient, body: dict[str, Any], words: str) -> None:
    before = tally(client)
    message = assert_error(client.post("/api/resolutions", json=body), 400, words)
    assert '{"text": "Homework is optional"}' in message
    assert tally(client) == before


def test_lone_surrogates_are_refused(client: FlaskClient) -> None:
    # JSON can spell a lone surrogate, which no UTF-8 page or SQLite file can hold.
    reply = client.post("/api/resolutions", **_raw('{"text": "a\\ud800"}'))
    assert_error(reply, 400, "invalid Unicode")
    assert tally(client)["resolution"] is None


def test_longest_text_is_accepted(client: FlaskClient) -> None:
    assert start(client, "é" * 200)["text"] == "é" * 200


def test_oversized_body_is_413(client: FlaskClient) -> None:
    start(client)
    before = tally(client)
    body = json.dumps({"choice": "yes", "vote_id": "a", "pad": "x" * 17_000})
    assert_error(client.post("/api/votes", **_raw(body)), 413, "at most 16384 bytes")
    assert tally(client) == before


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/votes", "POST"),
        ("DELETE", "/api/resolutions", "POST"),
        ("GET", "/api/resolutions/current/stop", "POST"),
        ("POST", "/api/tally", "GET"),
        ("PUT", "/health", "GET"),
    ],
)
def test_wrong_method_is_json_405(
    client: FlaskClient, method: str, path: str, allowed: str
) -> None:
    reply = client.open(path, method=method)
    assert_error(reply, 405, f"{method} is not allowed on {path}; use {allowed}")
    assert allowed in reply.headers["Allow"]


@pytest.mark.parametrize("path", ["/api/nope", "/api", "/api/resolutions/7/stop"])
def test_unknown_api_path_is_json_404(client: FlaskClient, path: str) -> None:
    assert_error(client.get(path), 404, "no such endpoint", "/api/openapi.json")


def test_a_crash_on_the_api_is_a_json_500(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a real server sees: exceptions are not propagated outside TESTING.
    app = make_app(TESTING=False)
    store = app.extensions["racecheck"].store

    def explode(choice: str) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "vote", explode)
    # The traceback is expected; keep the output quiet (the logger is shared, so restore it).
    monkeypatch.setattr(app.logger, "disabled", True)
    reply = app.test_client().post("/api/votes", json=VOTE)
    assert_error(reply, 500, "may or may not have taken effect")


def test_unknown_page_outside_the_api_stays_html(client: FlaskClient) -> None:
    reply = client.get("/nope")
    assert reply.status_code == 404
    assert reply.mimetype == "text/html"


@pytest.mark.parametrize("build", ["locked", "sqlite"])
def test_concurrent_votes_through_the_app(app: Flask) -> None:
    # Threads share one app, as under a threaded server; each sqlite request opens and
    # closes its own connection. The unlocked build is meant to lose votes: see the store tests.
    app.test_client().post("/api/resolutions", json={"text": "busy"})
    counts: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        client = app.test_client()
        for i in range(40):
            reply = client.post("/api/votes", json={"choice": "yes", "vote_id": str(i)})
            with lock:
                counts.append(reply.get_json()["count"])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 321))


# -- fault injection ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_fault_routes_are_404_when_disabled(client: FlaskClient, method: str) -> None:
    reply = client.open("/_racecheck/faults", method=method, json={"stall_seconds": 1})
    assert_error(reply, 404, "RACECHECK_FAULT_INJECTION=true")


@pytest.fixture
def faulty(make_app: Callable[..., Flask], build: str) -> FlaskClient:
    """A client for an app with fault injection on."""
    return make_app(BUILD=build, FAULT_INJECTION=True).test_client()


def _timed_vote(client: FlaskClient) -> tuple[int, float]:
    began = time.perf_counter()
    reply = client.post("/api/votes", json=VOTE)
    return reply.status_code, time.perf_counter() - began


def test_arm_show_and_disarm_a_stall(faulty: FlaskClient) -> None:
    assert faulty.get("/_racecheck/faults").get_json() == {"armed": False, "pid": os.getpid()}
    armed = faulty.post(
        "/_racecheck/faults", json={"stall_seconds": 0.05, "for_seconds": 30, "where": "after"}
    )
    assert armed.status_code == 200
    body = armed.get_json()
    assert body["armed"] is True
    assert (body["stall_seconds"], body["for_seconds"], body["where"]) == (0.05, 30.0, "after")
    assert body["pid"] == os.getpid()
    assert faulty.get("/_racecheck/faults").get_json()["armed"] is True

    faulty.post("/api/resolutions", json={"text": "stalled"})
    status, took = _timed_vote(faulty)
    assert (status, took >= 0.05) == (200, True)

    assert faulty.delete("/_racecheck/faults").get_json() == {"armed": False, "pid": os.getpid()}
    status, took = _timed_vote(faulty)
    assert (status, took < 0.05) == (200, True)


def test_stall_before_touching_state_delays_even_refused_votes(faulty: FlaskClient) -> None:
    faulty.post(
        "/_racecheck/faults", json={"stall_seconds": 0.05, "for_seconds": 30, "where": "before"}
    )
    status, took = _timed_vote(faulty)  # no vote open: stalled, then refused
    assert (status, took >= 0.05) == (409, True)


def test_stall_after_the_increment_skips_refused_votes(faulty: FlaskClient) -> None:
    # "where" defaults to "after": a vote that was refused never reached the increment.
    faulty.post("/_racecheck/faults", json={"stall_seconds": 0.2, "for_seconds": 30})
    status, took = _timed_vote(faulty)
    assert (status, took < 0.2) == (409, True)


def test_stall_expires_by_itself(faulty: FlaskClient) -> None:
    faulty.post("/_racecheck/faults", json={"stall_seconds": 0.2, "for_seconds": 0})
    faulty.post("/api/resolutions", json={"text": "r"})
    status, took = _timed_vote(faulty)
    assert (status, took < 0.2) == (200, True)
    assert faulty.get("/_racecheck/faults").get_json()["armed"] is False


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "missing field 'stall_seconds'"),
        ({"stall_seconds": 1}, "missing field 'for_seconds'"),
        ({"stall_seconds": "1", "for_seconds": 1}, "number of seconds, not a string"),
        ({"stall_seconds": True, "for_seconds": 1}, "not a boolean"),
        ({"stall_seconds": -1, "for_seconds": 1}, "between 0 and 60"),
        ({"stall_seconds": 1, "for_seconds": 1e9}, "between 0 and 3600"),
        ({"stall_seconds": 1, "for_seconds": 1, "where": "during"}, '"before" or "after"'),
        ([1], "not an array"),
    ],
)
def test_bad_fault_requests_are_refused(faulty: FlaskClient, body: Any, words: str) -> None:
    assert_error(faulty.post("/_racecheck/faults", json=body), 400, words)
    assert faulty.get("/_racecheck/faults").get_json()["armed"] is False
