"""Property tests: any body at any endpoint gets a 2xx or a JSON 4xx, never a 5xx, and the
OpenAPI document matches what the app really does (checked by schemathesis)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings

from target_app import create_app

AppFactory = Callable[..., Flask]

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# Objects that look like the real thing, so the checks past "is it an object" get exercised.
near_misses = st.fixed_dictionaries(
    {},
    optional={
        "text": json_values | st.text(max_size=250),
        "choice": json_values | st.sampled_from(["yes", "no", "YES", "maybe", ""]),
        "vote_id": json_values | st.text(max_size=140),
        "stall_seconds": json_values | st.floats(-1, 100),
        "for_seconds": json_values | st.floats(-1, 4000),
        "where": json_values | st.sampled_from(["before", "after", "during"]),
    },
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        None,
    ]
)


@st.composite
def requests_(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments for FlaskClient.open: a JSON body, or raw bytes, with some type."""
    if draw(st.booleans()):
        return {"json": draw(json_values | near_misses)}
    return {"data": draw(st.binary(max_size=64)), "content_type": draw(content_types)}


STATEFUL = ["/api/resolutions", "/api/votes", "/api/resolutions/current/stop"]


def tally(client: FlaskClient) -> Any:
    return client.get("/api/tally").get_json()


def assert_well_formed(reply: Any) -> None:
    """A reply is a 2xx or a JSON 4xx with an error message; never a 5xx."""
    assert reply.status_code < 500, reply.get_data(as_text=True)
    assert reply.mimetype == "application/json"
    body = reply.get_json()
    if reply.status_code >= 400:
        assert isinstance(body.get("error"), str)
        assert body["error"]


@pytest.mark.parametrize("path", STATEFUL)
@pytest.mark.parametrize("build", ["locked", "sqlite"])
@pytest.mark.parametrize("voting", [True, False], ids=["voting", "idle"])
def test_any_body_is_answered_and_refusals_change_nothing(
    app: Flask, path: str, voting: bool
) -> None:
    client = app.test_client()
    if voting:
        client.post("/api/resolutions", json={"text": "fuzzed"})

    @FUZZ
    @given(request=requests_())
    def check(request: dict[str, Any]) -> None:
        before = tally(client)
        reply = client.post(path, **request)
        assert_well_formed(reply)
        if reply.status_code >= 400:
            assert tally(client) == before
        elif path == "/api/resolutions/current/stop":
            # Put the open resolution back, so later examples meet the same state.
            client.post("/api/resolutions", json={"text": "fuzzed"})

    check()


def test_fault_route_refuses_junk(make_app: AppFactory) -> None:
    client = make_app(FAULT_INJECTION=True).test_client()

    @FUZZ
    @given(request=requests_())
    def check(request: dict[str, Any]) -> None:
        reply = client.post("/_racecheck/faults", **request)
        assert_well_formed(reply)
        # Disarm whatever got armed, so the next example starts clean.
        client.delete("/_racecheck/faults")

    check()


@pytest.mark.parametrize("build", ["locked"])
def test_any_method_on_any_route(app: Flask) -> None:
    client = app.test_client()
    routes = ["/health", "/api/tally", "/api/openapi.json", "/api/nope", *STATEFUL]
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    @FUZZ
    @given(path=st.sampled_from(routes), method=st.sampled_from(methods), request=requests_())
    def check(path: str, method: str, request: dict[str, Any]) -> None:
        reply = client.open(path, method=method, **request)
        assert_well_formed(reply)

    check()


# -- schemathesis: the OpenAPI document against the app itself ------------------------------

# A module-level app, because schemathesis reads the schema when the tests are collected.
schema_app = create_app({"TESTING": True, "BUILD": "locked", "FAULT_INJECTION": False})
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", schema_app)


def _set_the_stage(path: str) -> None:
    """Put the store where a generated request can succeed, so 2xx replies get checked too."""
    client = schema_app.test_client()
    if path == "/api/resolutions":
        client.post("/api/resolutions/current/stop")
    elif path in ("/api/votes", "/api/resolutions/current/stop"):
        client.post("/api/resolutions", json={"text": "schemathesis"})


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_app_conforms_to_its_openapi_document(
    case: schemathesis.Case[Any],
) -> None:
    # Every built-in check runs: no 5xx, documented status codes and content types, replies
    # matching their schemas, invalid input refused and valid input accepted.
    _set_the_stage(case.path)
    case.call_and_validate()


# -- every route, every method, every build (issue 6) ----------------------------------------


def concrete_paths(app: Flask) -> list[str]:
    """Every route of the app with its variables filled in, plus routes that do not exist.

    Read from the app's own URL map, so a route added later is fuzzed without anyone
    having to remember to list it here.
    """
    paths = {re.sub(r"<[^>]+>", "x", rule.rule) for rule in app.url_map.iter_rules()}
    return sorted(paths | {"/api/nope", "/nope", "/_racecheck/nope"})


METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
form_fields = st.fixed_dictionaries(
    {},
    optional={
        "submit": st.sampled_from(["Start", "AYE", "nay", "Stop", "stop ", "", "Maybe"])
        | st.text(max_size=20),
        "resolution": st.text(max_size=260),
    },
)


def reset(client: FlaskClient, voting: bool, faults: bool) -> None:
    """Put the app in a known state: one resolution open (or none), no stall armed."""
    if faults:
        client.delete("/_racecheck/faults")
    client.post("/api/resolutions/current/stop")
    if voting:
        client.post("/api/resolutions", json={"text": "fuzzed"})


@pytest.mark.parametrize(
    ("build", "faults"),
    [("locked", True), ("locked", False), ("unlocked", True), ("sqlite", True)],
    ids=["locked-hook-on", "locked-hook-off", "unlocked-hook-on", "sqlite-hook-on"],
)
def test_any_request_on_any_route_is_answered_and_refusals_change_nothing(
    make_app: AppFactory, build: str, faults: bool
) -> None:
    client = make_app(BUILD=build, FAULT_INJECTION=faults).test_client()
    paths = concrete_paths(client.application)

    @FUZZ
    @given(
        path=st.sampled_from(paths),
        method=st.sampled_from(METHODS),
        request=requests_() | form_fields.map(lambda form: {"data": form}),
        voting=st.booleans(),
    )
    def check(path: str, method: str, request: dict[str, Any], voting: bool) -> None:
        reset(client, voting, faults)
        before = tally(client)
        reply = client.open(path, method=method, **request)
        assert reply.status_code < 500, (method, path, reply.get_data(as_text=True))
        machine = path.startswith(("/api/", "/health", "/_racecheck/"))
        if method == "OPTIONS" and reply.status_code == 200:
            # Flask's automatic answer: no body, just the methods the route takes.
            assert reply.headers["Allow"] and not reply.get_data()
        elif machine and method != "HEAD":
            assert_well_formed(reply)
        if reply.status_code >= 400:
            assert tally(client) == before, (method, path, reply.status_code)
        # A stall armed by this example must not put the next one to sleep.
        reset(client, voting, faults)

    check()


BODY_ROUTES = ["/api/resolutions", "/api/votes", "/_racecheck/faults", "/vote/"]


@pytest.mark.parametrize("build", ["locked"])
def test_an_oversized_body_is_refused_with_413_wherever_a_body_is_read(
    make_app: AppFactory, build: str
) -> None:
    client = make_app(BUILD=build, FAULT_INJECTION=True).test_client()
    limit = client.application.config["MAX_CONTENT_LENGTH"]

    @settings(FUZZ, max_examples=40)
    @given(
        path=st.sampled_from(BODY_ROUTES),
        size=st.integers(limit + 1, 4 * limit),
        content_type=content_types,
    )
    def check(path: str, size: int, content_type: str | None) -> None:
        reset(client, True, True)
        before = tally(client)
        body = b'{"text": "' + b"a" * size + b'"}'
        reply = client.post(path, data=body, content_type=content_type)
        if path != "/vote/" and content_type is not None and "json" in content_type:
            assert reply.status_code == 413
            assert_well_formed(reply)
            assert f"at most {limit} bytes" in reply.get_json()["error"]
        else:  # a body of the wrong type may be refused before it is read: still a 4xx
            assert 400 <= reply.status_code < 500, (path, content_type, reply.status_code)
        assert tally(client) == before

    check()


@pytest.mark.parametrize("build", ["locked", "unlocked", "sqlite"])
def test_the_classroom_form_never_breaks_and_refusals_change_nothing(
    make_app: AppFactory, build: str
) -> None:
    client = make_app(BUILD=build).test_client()

    @settings(FUZZ, max_examples=80)
    @given(form=form_fields, voting=st.booleans())
    def check(form: dict[str, str], voting: bool) -> None:
        reset(client, voting, False)
        before = tally(client)
        reply = client.post("/vote/", data=form)
        assert reply.status_code in (200, 400, 409), reply.status_code
        assert reply.mimetype == "text/html"
        after = tally(client)
        if reply.status_code >= 400:
            assert after == before
        # The page shows the same counts as the API.
        assert f"Yes: <b>{after['yes']}</b> No: <b>{after['no']}</b>" in reply.get_data(
            as_text=True
        )

    check()
