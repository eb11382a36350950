"""The workload vocabulary: requests with {op_id}, acknowledgement matchers, value extractors."""

from __future__ import annotations

from typing import Any

import pytest

from loadtests.target.workload import (
    Extractor,
    Matcher,
    RequestSpec,
    reference_workload,
)


def test_render_fills_op_id_everywhere_and_leaves_the_template_alone() -> None:
    spec = RequestSpec(
        "POST",
        "/like/{op_id}",
        json={"id": "{op_id}", "tags": ["a-{op_id}", 3], "n": 1, "nested": {"k": "{op_id}"}},
    )
    rendered = spec.render("v-1")
    assert rendered.path == "/like/v-1"
    assert rendered.json == {"id": "v-1", "tags": ["a-v-1", 3], "n": 1, "nested": {"k": "v-1"}}
    assert spec.json["id"] == "{op_id}"  # the template itself is unchanged


def test_render_fills_form_values() -> None:
    spec = RequestSpec("POST", "/vote/", form={"submit": "AYE", "ballot": "{op_id}"})
    assert spec.render("b7").form == {"submit": "AYE", "ballot": "b7"}
    assert RequestSpec("GET", "/x").render("b7").form is None


def test_render_without_an_op_id_is_the_same_request() -> None:
    spec = RequestSpec("GET", "/{op_id}")
    assert spec.render() is spec


@pytest.mark.parametrize(
    ("matcher", "status", "text", "expected"),
    [
        (Matcher(), 200, "", True),
        (Matcher(), 204, "", True),
        (Matcher(status=200), 201, "", False),
        (Matcher(status=201), 201, "", True),
        (Matcher(contains="you voted"), 200, "<p>you voted YES</p>", True),
        (Matcher(contains="you voted"), 200, "<p>no vote is in progress</p>", False),
        (Matcher(status=200, contains="ok"), 202, "ok", False),
    ],
)
def test_matcher(matcher: Matcher, status: int, text: str, expected: bool) -> None:
    assert matcher.matches(status, text) is expected


@pytest.mark.parametrize(
    ("extractor", "text", "value"),
    [
        (Extractor(json="likes"), '{"likes": 3}', 3),
        (Extractor(json="a.b"), '{"a": {"b": 4}}', 4),
        (Extractor(json="items.0.n"), '{"items": [{"n": 5}]}', 5),
        (Extractor(json="n"), '{"n": "6"}', 6),
        (Extractor(json="n"), '{"n": -2}', -2),
        (Extractor(regex=r"Count: <b>(\d+)</b>"), "<p>Count: <b>12</b></p>", 12),
        (Extractor(regex=r"Yes: <b>(\d+)</b>"), "Yes: <b>0</b> No: <b>9</b>", 0),
    ],
)
def test_extract_int(extractor: Extractor, text: str, value: int) -> None:
    assert extractor.extract_int(text) == value


@pytest.mark.parametrize(
    ("extractor", "text"),
    [
        (Extractor(json="likes"), '{"other": 3}'),
        (Extractor(json="likes"), "<html>"),
        (Extractor(json="likes"), '{"likes": true}'),
        (Extractor(json="likes"), '{"likes": 1.5}'),
        (Extractor(json="likes"), '{"likes": null}'),
        (Extractor(json="likes"), '{"likes": "many"}'),
        (Extractor(json="a.b"), '{"a": 3}'),
        (Extractor(regex=r"Count: <b>(\d+)</b>"), "Count: 3"),
        (Extractor(regex=r"Count: (\d+)?x"), "Count: x"),
        (Extractor(), "{}"),
    ],
)
def test_extract_int_refuses_what_is_not_a_count(extractor: Extractor, text: str) -> None:
    with pytest.raises((ValueError, IndexError)):
        extractor.extract_int(text)


def test_extract_uses_an_already_parsed_body() -> None:
    parsed: Any = {"n": 8}
    assert Extractor(json="n").extract_int("not json at all", parsed) == 8


def test_the_reference_workload_describes_the_json_api() -> None:
    workload = reference_workload("unlocked")
    assert workload.name == "voting-unlocked"
    assert workload.choices == ("yes", "no")
    assert not workload.shared_state
    assert reference_workload("sqlite").shared_state
    (start,) = workload.setup
    (stop,) = workload.teardown
    assert (start.f, start.request.method, start.request.path) == (
        "start",
        "POST",
        "/api/resolutions",
    )
    assert (stop.f, stop.request.path) == ("stop", "/api/resolutions/current/stop")
    yes = workload.counter("yes")
    assert yes.increment.render("id-1").json == {"choice": "yes", "vote_id": "id-1"}
    assert yes.read_value.extract_int('{"yes": 3, "no": 1}') == 3
    with pytest.raises(KeyError):
        workload.counter("maybe")
