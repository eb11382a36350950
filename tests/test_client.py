"""The client: how every reply becomes ok, fail or info, offline through the Transport seam."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask import Flask

from loadtests.drive.client import Client, Reply, SessionTransport, Timeout, describe_error
from loadtests.history import History, Op
from loadtests.target.workload import (
    Counter,
    Extractor,
    Matcher,
    RequestSpec,
    Step,
    Workload,
    reference_workload,
)

BASE = "http://127.0.0.1:9"


class ScriptedTransport:
    """A Transport that answers every request with the next scripted Reply, and records it."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.sent: list[tuple[RequestSpec, str]] = []

    def send(self, request: RequestSpec, base_url: str) -> Reply:
        self.sent.append((request, base_url))
        return self.replies.pop(0)


class FlaskTransport:
    """Flask's test client as a Transport: the real app, no sockets."""

    def __init__(self, app: Flask) -> None:
        self.client = app.test_client()

    def send(self, request: RequestSpec, base_url: str) -> Reply:
        response = self.client.open(
            request.path, method=request.method, json=request.json, data=request.form
        )
        return Reply(response.status_code, response.get_data(as_text=True))


def body(**fields: Any) -> str:
    return json.dumps(fields)


def vote_with(reply: Reply, workload: Workload | None = None) -> tuple[Op, History]:
    history = History()
    transport = ScriptedTransport(reply)
    client = Client(transport, BASE + "/", workload or reference_workload(), history, 4)
    done = client.vote((workload or reference_workload()).choices[0], "run-4-1")
    return done, history


# -- votes on the reference workload -----------------------------------------


def test_a_well_formed_2xx_is_ok_with_count_pid_and_resolution() -> None:
    reply = Reply(200, body(count=17, pid=4242, resolution_id=3, choice="yes", vote_id="x"))
    done, history = vote_with(reply)
    assert done.type == "ok"
    assert done.value == {"choice": "yes", "count": 17, "pid": 4242, "resolution_id": 3}
    inv = history.ops()[0]
    assert (inv.type, inv.f, inv.value, inv.vote_id, inv.process) == (
        "invoke",
        "vote",
        {"choice": "yes"},
        "run-4-1",
        4,
    )
    assert (done.vote_id, done.process) == ("run-4-1", 4)
    assert history.pending() == 0


def test_the_vote_request_carries_the_vote_id_and_goes_to_the_base_url() -> None:
    transport = ScriptedTransport(Reply(200, body(count=1, pid=1, resolution_id=1)))
    client = Client(transport, BASE + "/", reference_workload(), History(), 0)
    client.vote("no", "abc-0-9")
    ((request, base),) = transport.sent
    assert (request.method, request.path) == ("POST", "/api/votes")
    assert request.json == {"choice": "no", "vote_id": "abc-0-9"}
    assert base == BASE  # the trailing slash is dropped once, not per request


def test_an_ok_without_pid_or_resolution_keeps_them_as_none() -> None:
    done, _ = vote_with(Reply(200, body(count=2)))
    assert done.type == "ok"
    assert done.value == {"choice": "yes", "count": 2, "pid": None, "resolution_id": None}


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(409, body(error="no vote is in progress; start one")), "no vote is in progress"),
        (Reply(400, body(error="choice must be yes or no")), "choice must be yes or no"),
        (Reply(404, "<h1>Not Found</h1>"), "<h1>Not Found</h1>"),
        (Reply(429, ""), "HTTP 429"),
    ],
)
def test_a_4xx_is_a_fail_with_the_targets_own_explanation(reply: Reply, error: str) -> None:
    done, _ = vote_with(reply)
    assert done.type == "fail"
    assert done.value["status"] == reply.status
    assert error in done.value["error"]
    assert done.value["choice"] == "yes"


@pytest.mark.parametrize(
    "reply",
    [
        Reply(500, body(error="boom")),
        Reply(502, "<html>bad gateway</html>"),
        Reply(503, ""),
        Reply(0, error="ReadTimeout: read timed out"),
        Reply(0, error="ConnectionError: Connection reset by peer"),
        Reply(200, "<html>not json</html>"),
        Reply(200, body(pid=1)),  # no count
        Reply(200, body(count="seventeen")),
        Reply(200, body(count=True)),
        Reply(200, body(count=None)),
    ],
    ids=[
        "500",
        "502",
        "503",
        "timeout",
        "reset",
        "html",
        "no-count",
        "count-text",
        "count-bool",
        "count-null",
    ],
)
def test_no_usable_answer_is_info_never_fail(reply: Reply) -> None:
    done, _ = vote_with(reply)
    assert done.type == "info"
    assert done.value["choice"] == "yes"
    assert done.value["error"]


def test_a_refused_connection_is_a_definite_fail() -> None:
    done, _ = vote_with(Reply(0, error="ConnectionError: refused", refused=True))
    assert done.type == "fail"
    assert done.value == {"choice": "yes", "status": None, "error": "ConnectionError: refused"}


def test_a_2xx_with_the_wrong_status_for_the_matcher_is_info() -> None:
    # The reference vote acknowledges with exactly 200; a 204 may still have counted.
    done, _ = vote_with(Reply(204, ""))
    assert done.type == "info"
    assert "does not match ok" in done.value["error"]


# -- counters described by target files ----------------------------------------


def form_counter(**overrides: Any) -> Workload:
    fields: dict[str, Any] = {
        "name": "aye",
        "increment": RequestSpec("POST", "/vote/", form={"submit": "AYE"}),
        "read": RequestSpec("GET", "/vote/"),
        "read_value": Extractor(regex=r"Yes: <b>(\d+)</b>"),
        "ok": Matcher(status=200, contains="you voted"),
    }
    fields.update(overrides)
    return Workload("form", (Counter(**fields),))


def test_a_2xx_without_the_acknowledgement_text_is_info_with_the_body() -> None:
    # Success texts vary ("you voted", "thanks!"): an unmatched 2xx may have taken effect.
    done, _ = vote_with(Reply(200, "<p>no vote is in progress</p>"), form_counter())
    assert done.type == "info"
    assert done.value["status"] == 200
    assert "does not match ok" in done.value["error"]
    assert done.value["body"] == "<p>no vote is in progress</p>"


def test_a_2xx_that_matches_the_declared_refusal_is_a_fail() -> None:
    workload = form_counter(refused=Matcher(contains="no vote is in progress"))
    done, _ = vote_with(Reply(200, "<p>no vote is in progress</p>"), workload)
    assert done.type == "fail"
    assert done.value["error"] == "reply matches refused"
    # Neither ok nor the refusal: still unknown.
    assert vote_with(Reply(200, "<p>server busy</p>"), workload)[0].type == "info"


def test_a_2xx_with_the_acknowledgement_text_is_ok_without_a_count() -> None:
    done, _ = vote_with(Reply(200, "<p>you voted YES on x</p>"), form_counter())
    assert done.type == "ok"
    assert done.value == {"choice": "aye", "count": None, "pid": None, "resolution_id": None}


def test_any_2xx_is_an_acknowledgement_when_the_file_does_not_say() -> None:
    workload = form_counter(ok=Matcher())
    assert vote_with(Reply(201, "created"), workload)[0].type == "ok"
    assert vote_with(Reply(204, ""), workload)[0].type == "ok"


def test_a_count_is_read_by_regex_from_an_html_reply() -> None:
    workload = form_counter(ok=Matcher(), returns=Extractor(regex=r"Count: <b>(\d+)</b>"))
    done, _ = vote_with(Reply(200, "<p>Count: <b>41</b></p>"), workload)
    assert done.type == "ok" and done.value["count"] == 41


def test_a_count_is_read_by_a_dotted_json_path() -> None:
    workload = form_counter(ok=Matcher(), returns=Extractor(json="data.items.1"))
    done, _ = vote_with(Reply(200, body(data={"items": [5, 6]})), workload)
    assert done.value["count"] == 6


def test_an_acknowledged_reply_whose_count_cannot_be_read_is_info() -> None:
    workload = form_counter(returns=Extractor(regex=r"Count: <b>(\d+)</b>"))
    done, _ = vote_with(Reply(200, "you voted, but the count is hidden"), workload)
    assert done.type == "info"
    assert "malformed reply" in done.value["error"]


def test_op_id_is_filled_into_form_values() -> None:
    workload = form_counter(
        increment=RequestSpec("POST", "/vote/{op_id}", form={"submit": "AYE", "id": "{op_id}"})
    )
    transport = ScriptedTransport(Reply(200, "you voted"))
    Client(transport, BASE, workload, History(), 0).vote("aye", "v-7")
    request = transport.sent[0][0]
    assert request.path == "/vote/v-7" and request.form == {"submit": "AYE", "id": "v-7"}


# -- setup/teardown steps and reads -----------------------------------------------


def harness_client(*replies: Reply, workload: Workload | None = None) -> tuple[Client, History]:
    history = History("harness")
    transport = ScriptedTransport(*replies)
    return Client(transport, BASE, workload or reference_workload(), history, "harness"), history


def test_a_start_step_is_ok_with_the_resolution_id() -> None:
    client, _ = harness_client(Reply(201, body(id=7, text="t", state="voting")))
    done = client.step(reference_workload().setup[0])
    assert done.type == "ok" and done.f == "start" and done.process == "harness"
    assert done.value == {"id": 7, "text": "t", "state": "voting", "resolution_id": 7}


def test_a_refused_step_is_a_fail_with_the_reason() -> None:
    client, _ = harness_client(Reply(409, body(error="a resolution is already in progress")))
    done = client.step(reference_workload().setup[0])
    assert done.type == "fail"
    assert done.value == {"status": 409, "error": "a resolution is already in progress"}


def test_a_step_that_replies_with_html_is_ok_with_its_status() -> None:
    workload = form_counter()
    step_spec = RequestSpec("POST", "/vote/", form={"submit": "START", "resolution": "r"})
    client, _ = harness_client(Reply(200, "<html>started</html>"), workload=workload)
    done = client.step(Step("setup", step_spec, Matcher(contains="started")))
    assert done.type == "ok" and done.value == {"status": 200, "resolution_id": None}


def test_read_sends_one_request_per_distinct_url_and_reads_every_counter() -> None:
    tally = body(resolution={"id": 2, "text": "t", "state": "closed"}, yes=10, no=4, pid=99)
    client, history = harness_client(Reply(200, tally))
    done = client.read()
    assert done.type == "ok" and done.f == "read"
    assert done.value == {"counts": {"yes": 10, "no": 4}, "pid": 99, "resolution_id": 2}
    assert len(client.transport.sent) == 1  # type: ignore[attr-defined]
    assert [op.type for op in history] == ["invoke", "ok"]


@pytest.mark.parametrize(
    ("reply", "op_type"),
    [
        (Reply(500, "oops"), "info"),
        (Reply(0, error="ReadTimeout: slow"), "info"),
        (Reply(200, body(yes=1, pid=1)), "info"),  # "no" missing
        (Reply(404, body(error="no such page")), "fail"),
    ],
)
def test_a_read_without_every_count_is_not_ok(reply: Reply, op_type: str) -> None:
    client, _ = harness_client(reply)
    assert client.read().type == op_type


# -- the real reference app through Flask's test client --------------------------


@pytest.fixture
def flask_client(make_app: Callable[..., Flask]) -> Callable[[str], tuple[Client, History]]:
    def build(build: str) -> tuple[Client, History]:
        history = History()
        transport = FlaskTransport(make_app(BUILD=build))
        return Client(transport, "", reference_workload(build), history, 0), history

    return build


@pytest.mark.parametrize("build", ["locked", "unlocked", "sqlite"])
def test_the_reference_app_round_trip_through_the_client(
    flask_client: Callable[[str], tuple[Client, History]], build: str
) -> None:
    client, history = flask_client(build)
    workload = reference_workload(build)

    refused = client.vote("yes", "early")  # nothing started yet
    assert refused.type == "fail" and refused.value["status"] == 409
    assert "no vote is in progress" in refused.value["error"]

    started = client.step(workload.setup[0])
    assert started.type == "ok"
    rid = started.value["resolution_id"]
    replies = [client.vote(c, f"v-{i}") for i, c in enumerate(["yes", "yes", "no", "yes"])]
    assert [op.type for op in replies] == ["ok"] * 4
    assert [op.value["count"] for op in replies] == [1, 2, 1, 3]
    assert {op.value["resolution_id"] for op in replies} == {rid}
    assert all(isinstance(op.value["pid"], int) for op in replies)

    stopped = client.step(workload.teardown[0])
    assert stopped.type == "ok" and stopped.value["outcome"] == "passes"
    final = client.read()
    assert final.value["counts"] == {"yes": 3, "no": 1}
    assert final.value["resolution_id"] == rid
    assert history.pending() == 0


# -- SessionTransport over real loopback sockets -----------------------------------


@pytest.fixture
def bound_not_listening() -> Iterator[int]:
    """A port we hold but do not listen on: connecting there is refused, reliably."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def test_session_transport_reports_a_refused_connection(bound_not_listening: int) -> None:
    transport = SessionTransport(timeout=Timeout(connect=2.0, read=2.0))
    try:
        reply = transport.send(RequestSpec("GET", "/"), f"http://127.0.0.1:{bound_not_listening}")
    finally:
        transport.close()
    assert reply.refused and reply.error and reply.status == 0


def test_session_transport_reports_a_silent_server_as_an_unrefused_error() -> None:
    # The kernel completes the handshake into the backlog, but nobody ever answers.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        transport = SessionTransport(timeout=Timeout(connect=2.0, read=0.2))
        try:
            reply = transport.send(RequestSpec("POST", "/api/votes"), f"http://127.0.0.1:{port}")
        finally:
            transport.close()
    assert reply.error is not None and "Timeout" in reply.error
    assert not reply.refused
    done, _ = vote_with(reply)
    assert done.type == "info"


def test_session_transport_reports_a_reset_as_an_unrefused_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def reset_after_request() -> None:
            conn, _ = server.accept()
            conn.recv(65536)  # the request arrived: the handler may have acted on it
            # Linger 0 turns close() into a TCP reset.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

        thread = threading.Thread(target=reset_after_request)
        thread.start()
        transport = SessionTransport(timeout=Timeout(connect=2.0, read=5.0))
        try:
            reply = transport.send(
                RequestSpec("POST", "/api/votes", json={"choice": "yes"}),
                f"http://127.0.0.1:{port}",
            )
        finally:
            transport.close()
            thread.join()
    assert reply.error is not None and not reply.refused
    assert vote_with(reply)[0].type == "info"


def test_describe_error_is_one_short_line() -> None:
    exc = requests.ConnectionError("first line\nsecond line " + "x" * 400)
    text = describe_error(exc)
    assert text.startswith("ConnectionError: first line")
    assert "\n" not in text and len(text) <= 300


@pytest.mark.parametrize(
    "spec",
    [
        RequestSpec("POST", "/api/votes", json={"choice": "yes", "vote_id": "c1-1"}),
        RequestSpec("POST", "/vote/", form={"resolution": "r", "action": "Aye"}),
        RequestSpec("POST", "/api/resolutions/current/stop"),
        RequestSpec("GET", "/api/tally"),
    ],
)
def test_prepared_from_a_template_is_what_session_request_would_send(spec: RequestSpec) -> None:
    transport = SessionTransport()
    url = "http://127.0.0.1:8000" + spec.path
    expected = transport.session.prepare_request(
        requests.Request(spec.method, url, json=spec.json, data=spec.form)
    )
    # Twice: the second comes from the cached template, which the first must not have changed.
    for _ in range(2):
        prepared = transport._prepare(spec, url)
        assert (prepared.method, prepared.url, prepared.body) == (
            expected.method,
            expected.url,
            expected.body,
        )
        assert dict(prepared.headers) == dict(expected.headers)


def test_a_session_with_cookies_prepares_each_request_in_full() -> None:
    transport = SessionTransport()
    spec = RequestSpec("POST", "/vote/", form={"action": "Aye"})
    url = "http://127.0.0.1:8000/vote/"
    transport._prepare(spec, url)  # caches a template without cookies
    transport.session.cookies.set("session", "abc", domain="127.0.0.1", path="/")
    assert transport._prepare(spec, url).headers["Cookie"] == "session=abc"
