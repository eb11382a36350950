"""The HTML page people use: the classroom voting form at /vote/."""

from __future__ import annotations

from typing import Any, Final

from flask import Blueprint, flash, redirect, render_template, request, url_for

from target_app.state import current_state
from target_app.store import Choice, NoVoteInProgress, VoteInProgress

bp = Blueprint("views", __name__)

BUTTONS: Final = ("Start", "Aye", "Nay", "Stop")
_BALLOTS: Final[dict[str, Choice]] = {"aye": "yes", "nay": "no"}
_SIGNS: Final = {"passes": ">", "fails": "<", "tied": "="}


@bp.get("/")
def index() -> Any:
    """Send people to the voting page."""
    return redirect(url_for("views.vote"))


@bp.route("/vote/", methods=["GET", "POST"])
def vote() -> Any:
    """Show the current resolution and act on the button pressed."""
    status = 200
    if request.method == "POST":
        status = _act(request.form.get("submit", ""), request.form.get("resolution", ""))
    # The page is rendered in the POST's own reply (no redirect), so a client that does not
    # follow redirects still sees the message, and the status tells success (200) from
    # refusal (400 bad input, 409 wrong moment).
    return render_template(
        "vote.html", tally=current_state().store.tally(), buttons=BUTTONS
    ), status


def _act(button: str, text: str) -> int:
    """Do what `button` asks; flash the result and return the status to reply with."""
    # Scripts send START or AYE; people click Start or Aye: both mean the same.
    pressed = button.strip().lower()
    store = current_state().store
    if pressed == "start":
        return _start(text)
    if pressed in _BALLOTS:
        choice = _BALLOTS[pressed]
        try:
            receipt = store.vote(choice)
        except NoVoteInProgress:
            return _refuse("no vote is in progress", 409)
        flash(f"you voted {choice.upper()} on {receipt.text}")
        return 200
    if pressed == "stop":
        try:
            result = store.stop()
        except NoVoteInProgress:
            return _refuse("no vote is in progress", 409)
        flash(f"{result.text} {result.outcome}: {result.yes} {_SIGNS[result.outcome]} {result.no}")
        return 200
    return _refuse(f"unknown button {button[:40]!r}; press Start, Aye, Nay or Stop", 400)


def _start(text: str) -> int:
    limit = current_state().settings.max_text_length
    if len(text) > limit:
        return _refuse(
            f"the resolution is too long ({len(text)} characters); keep it to {limit} or fewer",
            400,
        )
    text = text.strip()
    if not text:
        return _refuse("type a resolution in the box before pressing Start", 400)
    try:
        current_state().store.start(text)
    except VoteInProgress:
        return _refuse("can't start resolution; one is in progress", 409)
    flash(f"started resolution: {text}")
    return 200


def _refuse(message: str, status: int) -> int:
    flash(message, "error")
    return status
