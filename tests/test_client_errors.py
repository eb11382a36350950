"""Client threads never die silently; a run that sent far fewer votes than asked says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import racecheck

from loadtests.drive.client import Client, Reply
from loadtests.history import History, Op
from loadtests.run.shortfall import shortfall
from loadtests.target.workload import RequestSpec, reference_workload

APPS = Path(__file__).parent / "apps"


class RaisingTransport:
    """A transport whose every send raises what no network error is."""

    def send(self, request: RequestSpec, base_url: str) -> Reply:
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON array")


def test_an_exception_in_the_client_is_an_info_op_not_a_dead_thread() -> None:
    history = History()
    client = Client(RaisingTransport(), "http://127.0.0.1:1", reference_workload(), history, 0)
    vote = client.vote("yes", "v-1")
    read = client.read()
    for op in (vote, read):
        assert op.type == "info"
        assert op.value["error"].startswith("client error: RecursionError")
    assert vote.value["choice"] == "yes"
    assert not history.close_pending()  # nothing left open


def _invokes(n: int) -> list[Op]:
    return [Op(i, 0, "invoke", "vote", {"choice": "yes"}, i, f"v{i}") for i in range(n)]


def test_a_run_short_of_its_votes_says_so() -> None:
    assert shortfall(3000, _invokes(3000)) is None
    detail = shortfall(3000, _invokes(320))
    assert detail is not None and "only 320 of the 3000 votes" in detail


def test_a_duration_run_is_never_short() -> None:
    assert shortfall(None, _invokes(3)) is None


@pytest.mark.e2e
def test_odd_replies_neither_kill_clients_nor_shorten_the_run(tmp_path: Path) -> None:
    run = racecheck(
        "run", "--target", str(APPS / "odd_replies.toml"), "--votes", "600", "--clients", "8",
        out=tmp_path / "run",
    )  # fmt: skip
    assert "Traceback" not in run.stderr, run.describe()
    votes = [op for op in run.history() if op["f"] == "vote"]
    invoked = [op for op in votes if op["type"] == "invoke"]
    completed = [op for op in votes if op["type"] != "invoke"]
    assert len(invoked) == len(completed) == 600  # every vote asked for was sent, and ended
    odd = [op for op in completed if op["type"] == "info"]
    assert odd and all(op["value"]["error"] for op in odd)  # each says what went wrong
    assert "votes asked for were sent" not in run.result()["reason"]
