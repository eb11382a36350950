"""The classroom page at /vote/: form flows, every message, escaping, and the shared store."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse


def press(client: FlaskClient, button: str, resolution: str = "") -> TestResponse:
    """Submit the form as a browser (or a script) would."""
    return client.post("/vote/", data={"submit": button, "resolution": resolution})


def flashes(reply: TestResponse) -> list[str]:
    """The messages flashed on a page, unescaped."""
    html = reply.get_data(as_text=True)
    found = re.findall(r'<p class="flash [a-z]+" role="status">(.*?)</p>', html)
    return [text.replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'") for text in found]


def counts(reply: TestResponse) -> tuple[int, int]:
    """The live Yes/No counts shown on a page."""
    match = re.search(r"Yes: <b>(\d+)</b> No: <b>(\d+)</b>", reply.get_data(as_text=True))
    assert match, "the page shows no counts"
    return int(match.group(1)), int(match.group(2))


def test_root_redirects_to_the_vote_page(client: FlaskClient) -> None:
    reply = client.get("/")
    assert reply.status_code == 302
    assert reply.headers["Location"] == "/vote/"


def test_the_page_has_the_classroom_form(client: FlaskClient) -> None:
    reply = client.get("/vote/")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert reply.mimetype == "text/html"
    assert 'name="resolution"' in html
    for value in ("Start", "Aye", "Nay", "Stop"):
        assert f'<button type="submit" name="submit" value="{value}">' in html
    assert "No resolution yet" in html
    assert counts(reply) == (0, 0)
    assert flashes(reply) == []


def test_the_page_loads_nothing_from_elsewhere(client: FlaskClient) -> None:
    html = client.get("/vote/").get_data(as_text=True)
    assert "<script" not in html
    assert "<link" not in html
    assert "http" not in html


def test_a_whole_vote(client: FlaskClient) -> None:
    reply = press(client, "Start", "Homework is optional")
    assert reply.status_code == 200
    assert flashes(reply) == ["started resolution: Homework is optional"]
    assert "Now voting on: <q>Homework is optional</q>" in reply.get_data(as_text=True)

    reply = press(client, "Aye")
    assert flashes(reply) == ["you voted YES on Homework is optional"]
    assert counts(reply) == (1, 0)
    reply = press(client, "Nay")
    assert flashes(reply) == ["you voted NO on Homework is optional"]
    assert counts(reply) == (1, 1)
    press(client, "Aye")

    reply = press(client, "Stop")
    assert reply.status_code == 200
    assert flashes(reply) == ["Homework is optional passes: 2 > 1"]
    assert "Last resolution (closed): <q>Homework is optional</q>" in reply.get_data(as_text=True)
    assert counts(reply) == (2, 1)


@pytest.mark.parametrize(
    ("ayes", "nays", "message"),
    [(7, 3, "R passes: 7 > 3"), (3, 7, "R fails: 3 < 7"), (5, 5, "R tied: 5 = 5")],
)
def test_every_outcome_is_announced(
    client: FlaskClient, ayes: int, nays: int, message: str
) -> None:
    press(client, "Start", "R")
    for _ in range(ayes):
        press(client, "Aye")
    for _ in range(nays):
        press(client, "Nay")
    assert flashes(press(client, "Stop")) == [message]


def test_the_message_is_shown_once(client: FlaskClient) -> None:
    press(client, "Start", "once")
    assert flashes(client.get("/vote/")) == []


@pytest.mark.parametrize("button", ["Aye", "Nay", "Stop"])
def test_nothing_to_vote_on_or_stop(client: FlaskClient, button: str) -> None:
    reply = press(client, button)
    assert reply.status_code == 409
    assert flashes(reply) == ["no vote is in progress"]
    assert counts(reply) == (0, 0)


def test_cannot_start_while_one_is_in_progress(client: FlaskClient) -> None:
    press(client, "Start", "first")
    press(client, "Aye")
    reply = press(client, "Start", "second")
    assert reply.status_code == 409
    assert flashes(reply) == ["can't start resolution; one is in progress"]
    assert "Now voting on: <q>first</q>" in reply.get_data(as_text=True)
    assert counts(reply) == (1, 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "type a resolution in the box before pressing Start"),
        ("   ", "type a resolution in the box before pressing Start"),
        ("x" * 201, "the resolution is too long (201 characters); keep it to 200 or fewer"),
    ],
)
def test_unusable_resolution_text(client: FlaskClient, text: str, message: str) -> None:
    reply = press(client, "Start", text)
    assert reply.status_code == 400
    assert flashes(reply) == [message]
    assert "No resolution yet" in reply.get_data(as_text=True)


@pytest.mark.parametrize("button", ["Abstain", "", "Start!"])
def test_unknown_button(client: FlaskClient, button: str) -> None:
    reply = press(client, button, "text")
    assert reply.status_code == 400
    assert flashes(reply) == [f"unknown button {button!r}; press Start, Aye, Nay or Stop"]
    assert "No resolution yet" in reply.get_data(as_text=True)


def test_a_post_without_a_button(client: FlaskClient) -> None:
    reply = client.post("/vote/", data={"resolution": "text"})
    assert reply.status_code == 400
    assert "unknown button" in flashes(reply)[0]


@pytest.mark.parametrize("spelling", [str.upper, str.lower])
def test_buttons_in_any_case(client: FlaskClient, spelling: Callable[[str], str]) -> None:
    # Users' target files send submit=START or submit=AYE.
    assert press(client, spelling("Start"), "loud").status_code == 200
    assert press(client, spelling("Aye")).status_code == 200
    assert press(client, spelling("Nay")).status_code == 200
    assert flashes(press(client, spelling("Stop"))) == ["loud tied: 1 = 1"]


def test_resolution_text_is_escaped(client: FlaskClient) -> None:
    evil = "<script>alert('x')</script>"
    for reply in (press(client, "Start", evil), press(client, "Aye"), press(client, "Stop")):
        html = reply.get_data(as_text=True)
        assert "<script>" not in html
        assert "&lt;script&gt;" in html
    assert flashes(press(client, "Start", "again")) == ["started resolution: again"]


def test_form_and_api_share_one_store(client: FlaskClient) -> None:
    # Start in the form, vote through the API, read the result on the page.
    press(client, "Start", "shared")
    vote = client.post("/api/votes", json={"choice": "yes", "vote_id": "api-1"})
    assert vote.status_code == 200
    assert vote.get_json()["count"] == 1
    assert counts(press(client, "Aye")) == (2, 0)
    assert client.get("/api/tally").get_json()["yes"] == 2
    assert flashes(press(client, "Stop")) == ["shared passes: 2 > 0"]

    # Start through the API, vote and stop in the form, read through the API.
    started = client.post("/api/resolutions", json={"text": "via api"})
    assert started.status_code == 201
    assert flashes(press(client, "Nay")) == ["you voted NO on via api"]
    stopped = client.post("/api/resolutions/current/stop").get_json()
    assert (stopped["text"], stopped["no"], stopped["outcome"]) == ("via api", 1, "fails")
