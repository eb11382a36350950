"""Property tests: any body at any endpoint gets a 2xx or a JSON 4xx, never a 5xx, and the
OpenAPI document matches what the app really does (checked by schemathesis)."""

from __future__ import annotations

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
