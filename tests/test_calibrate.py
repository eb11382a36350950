"""Calibration, the initial read and the target log's tracebacks (loadtests/run/calibrate.py)."""

from __future__ import annotations

from pathlib import Path

from test_client import BASE, ScriptedTransport

from loadtests.drive.client import Client, Reply
from loadtests.history import History
from loadtests.run.calibrate import calibrate, log_size, record_tracebacks, tracebacks
from loadtests.target.workload import Call, Extras, RequestSpec, Workload

LOG = """\
INFO:waitress:Serving
Traceback (most recent call last):
  File "app.py", line 3, in add
    conn.execute("BEGIN")
sqlite3.OperationalError: cannot start a transaction within a transaction
ERROR:notes:Exception on /notes [POST]
Traceback (most recent call last):
  File "app.py", line 5, in add
    conn.execute("COMMIT")
sqlite3.OperationalError: cannot commit - no transaction is active
Traceback (most recent call last):
  File "app.py", line 3, in add
sqlite3.OperationalError: cannot start a transaction within a transaction
"""


def test_tracebacks_after_an_offset_end_at_their_exception(tmp_path: Path) -> None:
    log = tmp_path / "target.log"
    log.write_text("old line\n")
    start = log_size(log)
    with log.open("a") as out:
        out.write(LOG)
    found = tracebacks(log, start)
    assert len(found) == 3
    assert found[0].splitlines()[-1].endswith("within a transaction")
    assert "ERROR:notes" not in found[0]
    assert tracebacks(tmp_path / "missing.log", 0) == [] and log_size(tmp_path / "x") == 0


def test_recorded_tracebacks_are_grouped_by_exception(tmp_path: Path) -> None:
    log = tmp_path / "target.log"
    log.write_text(LOG)
    harness = History("harness")
    record_tracebacks(harness, log, 0)
    value = harness.ops()[-1].value
    assert value["tracebacks"] == 3 and value["times"] == [2, 1]
    assert value["excerpts"][0].endswith("within a transaction")


def test_calibration_sends_the_mix_one_at_a_time_as_its_own_process() -> None:
    calls = tuple(Call(name, RequestSpec("POST", f"/{name}")) for name in ("a", "b"))
    workload = Workload("w", (), extras=Extras(calls=calls, calibrate=3))
    transport, harness = ScriptedTransport(*[Reply(200, "ok")] * 3), History("harness")
    calibrate(Client(transport, BASE, workload, harness, "harness"), harness)
    assert [r.path for r, _ in transport.sent] == ["/a", "/b", "/a"]
    ops = harness.ops()
    assert (ops[0].f, ops[0].value) == ("calibrate", {"requests": 3, "all_ok": False})
    assert {op.process for op in ops[2:]} == {"calibrate"}
    assert ops[2].vote_id == "calibrate-0"
