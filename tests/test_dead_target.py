"""A target that dies mid-run: noticed, the load stopped, UNKNOWN naming why.

tests/apps/dies_mid_run.py is a correct counter whose process calls ``os._exit`` on
its Nth hit. Under waitress the whole server is gone: racecheck must notice, stop
the load and end UNKNOWN with the exit status and the last lines of the server's log
(it once hung for 7 min 49 s, every client waiting out its timeout on a port
racecheck itself held open). Under one gunicorn worker the arbiter respawns the
worker with empty memory: UNKNOWN naming the restart, never FAIL "split state".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import COMMAND_TIMEOUT, racecheck

pytestmark = [pytest.mark.e2e]

APPS = Path(__file__).parent / "apps"
# Far more votes than the target survives: a run that waited for each would take minutes.
VOTES = "3000"


@pytest.mark.parametrize("driver", ["requests", "locust"])
def test_a_target_that_exits_mid_run_ends_the_run_unknown_naming_it(
    tmp_path: Path, driver: str
) -> None:
    run = racecheck(
        "run", "--target", str(APPS / "dies_mid_run.toml"), "--votes", VOTES, "--driver", driver,
        out=tmp_path / "run", timeout=COMMAND_TIMEOUT,
    )  # fmt: skip
    assert run.exit_code == 3, run.describe()
    result = run.result()
    assert result["verdict"] == "UNKNOWN"
    assert "exited with status 3 during the load" in result["reason"]
    assert "dies_mid_run: hit 500, exiting with status 3" in result["reason"]  # its log
    assert run.check("interrupted")["status"] == "UNKNOWN"
    assert "exited with status 3" in run.stderr + run.stdout
    history = run.history()
    votes = [op for op in history if op["f"] == "vote" and op["type"] != "invoke"]
    ok = sum(op["type"] == "ok" for op in votes)
    info = sum(op["type"] == "info" for op in votes)
    # Hit 500 got no reply, and a reply cut off by the exit is info, never lost. A thread
    # that counted 501 before the 500th thread's _exit ran may have had its reply out.
    counts = [op["value"]["count"] for op in votes if op["type"] == "ok"]
    assert 500 not in counts and len(set(counts)) == ok
    assert ok + info >= 499
    assert len(votes) < int(VOTES)  # the load stopped instead of waiting out each vote


def test_a_respawned_gunicorn_worker_is_unknown_naming_the_restart(tmp_path: Path) -> None:
    run = racecheck(
        "run", "--target", str(APPS / "respawned_worker.toml"), "--votes", "1000",
        out=tmp_path / "run",
    )  # fmt: skip
    assert run.exit_code == 3, run.describe()
    result = run.result()
    assert result["verdict"] == "UNKNOWN", result["reason"]
    assert "the server restarted during the run" in result["reason"]
    recycle = run.check("recycle")
    assert recycle["status"] == "UNKNOWN"
    assert len(recycle["witnesses"]) >= 2  # each pid that answered, named
    assert run.check("split-state")["status"] != "FAIL"
