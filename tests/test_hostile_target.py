"""A hostile target can neither crash the harness nor make it allocate by the values it sends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.cli import racecheck

from loadtests.drive.client import Client, Reply
from loadtests.history import History
from loadtests.target.workload import reference_workload

APPS = Path(__file__).parent / "apps"
DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 50 + "1" + "}" * 50


class Replies:
    """Answers every request with one fixed reply."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply

    def send(self, request: object, base_url: str) -> Reply:
        return self.reply


def client(reply: Reply, history: History) -> Client:
    return Client(Replies(reply), "http://127.0.0.1:9", reference_workload(), history, 1)


@pytest.mark.parametrize("text", [DEEP, DEEP_OBJECT])
def test_a_vote_acknowledged_with_deep_json_is_info_not_a_crash(text: str) -> None:
    op = client(Reply(200, text), History()).vote("yes", "v-1")
    assert op.type == "info"
    assert "malformed" in op.value["error"]


@pytest.mark.parametrize("status", [200, 409, 503])
def test_a_final_read_of_deep_json_is_not_a_count(status: int) -> None:
    op = client(Reply(status, DEEP), History()).read()
    assert op.type in ("info", "fail")


def test_a_step_stores_no_deep_reply_in_the_history(tmp_path: Path) -> None:
    history = History()
    step = reference_workload().setup[0]
    op = client(Reply(201, DEEP_OBJECT), history).step(step)
    assert op.type == "ok"
    assert "a" not in op.value  # the body nested too deep to keep
    history.write(tmp_path / "history.jsonl")  # and the history still writes


# Doubling counts: vote n returns 2**n. An index that allocates up to the largest
# count asked for 8.6 GB after 33 votes; under a 1 GiB address-space limit it must
# judge thousands of such votes.
MEMORY_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    limit = 1 << 30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from loadtests.check.checker import check_safe, CheckSettings, FinalState
    from loadtests.history import Op
    ops, t = [], 1
    for n in range(1, 3001):
        for kind, value in (("invoke", {"choice": "yes"}),
                            ("ok", {"choice": "yes", "count": 2 ** n, "pid": 7,
                                    "resolution_id": 1})):
            ops.append(Op(len(ops), n % 8, kind, "vote", value, t, f"v-{n}"))
            t += 1
    final = FinalState({"yes": 3000, "no": 0}, pids=(7,), time_ns=t, resolution_id=1)
    verdict = check_safe(ops, final, CheckSettings(choices=("yes", "no")))
    print(verdict.status, [c.name for c in verdict.checks if c.status == "ERROR"])
    """
)


def test_crafted_counts_are_judged_within_a_memory_limit() -> None:
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=Path(__file__).parent.parent,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "MemoryError" not in done.stderr
    status, errors = done.stdout.split(" ", 1)
    assert status in ("FAIL", "UNKNOWN", "ERROR", "PASS")
    assert "checker" not in errors  # no check crashed


@pytest.mark.e2e
def test_a_run_against_a_deep_json_tally_ends_unknown_with_its_history(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run = racecheck(
        "run", "--app", "hostile_app:deep_final", "--votes", "60", "--clients", "4",
        out=out, env={"PYTHONPATH": os.pathsep.join([str(APPS), os.getcwd()])},
    )  # fmt: skip
    # Preflight reads the tally before any load (#13): the deep reply stops the run there,
    # one line, exit 2, with the reason and a result on disk; never a RecursionError.
    assert run.exit_code == 2, run.describe()
    assert "Traceback" not in run.stderr
    assert "nested too deep" in run.stdout
    assert run.result()["verdict"] == "ERROR"


@pytest.mark.e2e
def test_a_run_against_doubling_counts_keeps_its_evidence_and_no_check_crashes(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    run = racecheck(
        "run", "--app", "hostile_app:doubling_counts", "--votes", "200", "--clients", "4",
        "--server", "werkzeug",
        out=out, env={"PYTHONPATH": os.pathsep.join([str(APPS), os.getcwd()])},
    )  # fmt: skip
    # Counts past 2**63 are malformed evidence (ERROR), smaller ones prove nothing lost:
    # any verdict but never a crash.
    assert run.exit_code in (1, 3, 4), run.describe()
    assert "Traceback" not in run.stderr and "MemoryError" not in run.stderr
    result = run.result()
    assert not [c for c in result["checks"] if "the check raised" in c["detail"]]
    assert json.loads((out / "history.jsonl").read_text().splitlines()[0])["index"] == 0
