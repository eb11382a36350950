"""The checks beyond counters, on hand-built histories: each FAIL has witnesses.

Collections (lost, duplicated, unexpected), unique ids, stocks (floor, conservation,
oversell), echo (leaks with both ops), errors (calibration, all-ok, tracebacks); and
a counter-only history that none of them speaks about.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from support.histories import assert_witnessed

from loadtests.check.checker import CheckSettings, FinalState, check
from loadtests.check.verdict import Verdict
from loadtests.history import History


class Ops:
    """A history built op by op (the harness's own ops and the load's)."""

    def __init__(self) -> None:
        self.history = History()
        self._pending: list[tuple[Any, str, Any]] | None = None

    def op(self, process: Any, f: str, kind: str, start: Any, end: Any, op_id: str | None) -> None:
        invocation = self.history.invoke(process, f, start, op_id)
        if self._pending is not None:
            self._pending.append((invocation, kind, end))
            return
        self.history.complete(invocation, kind, end)  # type: ignore[arg-type]

    @contextmanager
    def concurrently(self) -> Iterator[None]:
        """The ops inside are all invoked before any completes (each from its own client)."""
        self._pending = []
        yield
        pending, self._pending = self._pending, None
        for invocation, kind, end in pending:
            self.history.complete(invocation, kind, end)  # type: ignore[arg-type]

    def add(self, op_id: str, kind: str = "ok", process: Any = 1, **value: Any) -> None:
        start = {"collection": "tasks", "element": f"t-{op_id}"}
        self.op(process, "add", kind, start, {**start, "status": 201, **value}, op_id)

    def decrement(self, op_id: str, kind: str = "ok", process: Any = 1, **value: Any) -> None:
        start = {"stock": "stock", "floor": 0}
        self.op(process, "decrement", kind, start, {**start, "status": 200, **value}, op_id)

    def call(self, op_id: str, echo: Any, kind: str = "ok", process: Any = 1) -> None:
        start = {"call": "greet", "expect": f"guest-{op_id}"}
        self.op(process, "call", kind, start, {**start, "status": 200, "echo": echo}, op_id)

    def read(self, process: Any = "harness", **value: Any) -> None:
        self.op(process, "read", "ok", None, {"counts": {}, **value}, None)

    def marker(self, f: str, **value: Any) -> None:
        self.op("harness", f, "ok", value, value, None)

    def judge(self, **final: Any) -> Verdict:
        state = FinalState({}, None, self.history.ops()[-1].time_ns + 1, (), "read", **final)
        verdict = check(self.history.ops(), state, CheckSettings())
        assert_witnessed(verdict)
        return verdict


def status(verdict: Verdict, name: str) -> str:
    return verdict.check(name).status


def test_every_acknowledged_add_present_once_passes() -> None:
    ops = Ops()
    with ops.concurrently():
        for n in range(3):
            ops.add(str(n), process=n)
    ops.add("9", kind="info")
    verdict = ops.judge(collections={"tasks": ["t-0", "t-1", "t-2"]})
    assert verdict.status == "PASS"
    assert "all 3 acknowledged adds" in verdict.check("collections").detail
    assert not any(c.name == "bounds" for c in verdict.checks)


def test_lost_adds_are_counted_and_witnessed() -> None:
    ops = Ops()
    for n in range(4):
        ops.add(str(n))
    verdict = ops.judge(collections={"tasks": ["t-0"]})
    result = verdict.check("collections")
    assert result.status == "FAIL"
    assert "3 of 4 acknowledged adds missing" in result.detail
    assert {w["op_id"] for w in result.witnesses} == {"1", "2", "3"}


def test_duplicates_and_values_nobody_added_fail() -> None:
    ops = Ops()
    ops.add("0")
    ops.add("1", kind="fail")
    verdict = ops.judge(collections={"tasks": ["t-0", "t-0", "ghost", "t-1"]})
    problems = {str(w["problem"]) for w in verdict.check("collections").witnesses}
    assert problems == {
        "present 2 times",
        "nobody added it",
        "its add was refused, yet it is present",
    }


def test_an_unknown_add_may_or_may_not_be_present() -> None:
    ops = Ops()
    with ops.concurrently():
        ops.add("0", process=0)
        ops.add("1", kind="info", process=1)
    assert ops.judge(collections={"tasks": ["t-0", "t-1"]}).status == "PASS"
    assert Ops.judge(ops, collections={"tasks": ["t-0"]}).status == "PASS"


def test_no_final_read_is_unknown_not_pass() -> None:
    ops = Ops()
    ops.add("0")
    state = FinalState(None)
    assert check(ops.history.ops(), state).check("collections").status == "UNKNOWN"


def test_colliding_ids_fail_with_both_creates() -> None:
    ops = Ops()
    ops.add("0", id=1)
    ops.add("1", id=2)
    ops.add("2", id=2)
    result = ops.judge().check("unique-ids")
    assert result.status == "FAIL"
    assert {w["op_id"] for w in result.witnesses} == {"1", "2"}
    ops = Ops()
    ops.add("0", id=1)
    ops.add("1", id="2")
    assert ops.judge().check("unique-ids").status == "PASS"


def stock_run(final: int, ok: int, unknown: int = 0, reads: tuple[int, ...] = ()) -> Verdict:
    ops = Ops()
    ops.decrement("cal-0", process="calibrate")  # before the initial read: not counted
    ops.read(stocks={"stock": 10})
    with ops.concurrently():
        for n in range(ok):
            ops.decrement(str(n), process=10 + n)
    for n in range(unknown):
        ops.decrement(f"u{n}", kind="info")
    ops.decrement("sold", kind="fail", error="refused: sold out")
    for level in reads:
        ops.read(process=3, stocks={"stock": level})
    return ops.judge(stocks={"stock": final})


def test_a_stock_that_fell_by_its_sales_passes() -> None:
    verdict = stock_run(final=4, ok=6)
    assert verdict.status == "PASS", verdict.reason
    assert stock_run(final=3, ok=6, unknown=2).status == "PASS"


def test_lost_decrements_oversell_and_a_floor_breach_fail() -> None:
    verdict = stock_run(final=5, ok=12, reads=(-1,))
    assert status(verdict, "stock-conservation") == "FAIL"
    assert status(verdict, "oversell") == "FAIL"
    floor = verdict.check("stock-floor")
    assert floor.status == "FAIL" and floor.witnesses[0]["level"] == -1
    assert "7 of 12 acknowledged decrements" in verdict.check("stock-conservation").detail


def test_a_stock_that_fell_more_than_anyone_took_fails() -> None:
    assert status(stock_run(final=1, ok=6, unknown=1), "stock-conservation") == "FAIL"


def test_echo_of_another_request_is_a_leak_with_both_ops() -> None:
    ops = Ops()
    ops.call("a", "guest-a")
    ops.call("b", "guest-a", kind="fail")
    ops.call("c", None)
    result = ops.judge().check("echo")
    assert result.status == "FAIL"
    leak = next(w for w in result.witnesses if w["op_id"] == "b")
    assert leak["owner"]["op_id"] == "a"
    assert any(w["op_id"] == "c" for w in result.witnesses)


def test_each_reply_with_its_own_value_passes_echo() -> None:
    ops = Ops()
    ops.call("a", "guest-a")
    ops.call("b", "guest-b")
    assert ops.judge().check("echo").status == "PASS"


def errors_run(
    load_status: int, calibration_status: int | None = None, all_ok: bool = False
) -> Verdict:
    ops = Ops()
    ops.marker("calibrate", requests=2, all_ok=all_ok)
    ops.add("cal-0", process="calibrate")
    if calibration_status is not None:
        ops.add("cal-1", "info", "calibrate", status=calibration_status, error="boom")
    ops.add("0")
    ops.add("1", kind="info", status=load_status, error="boom")
    ops.marker("target-log", tracebacks=1, excerpts=["Traceback ...\nValueError: x"], times=[1])
    return ops.judge(collections={"tasks": ["t-cal-0", "t-0"]})


def test_a_5xx_only_under_load_fails_errors_with_the_traceback() -> None:
    result = errors_run(500).check("errors")
    assert result.status == "FAIL"
    assert result.witnesses[0]["exception"] == "ValueError: x"
    assert any(w.get("status") == 500 for w in result.witnesses)


def test_a_5xx_calibration_met_too_is_not_concurrency() -> None:
    assert errors_run(500, calibration_status=500).check("errors").status == "PASS"


def test_all_ok_fails_any_refusal() -> None:
    result = errors_run(409, calibration_status=409, all_ok=True).check("errors")
    assert result.status == "FAIL"


def test_a_counter_history_meets_none_of_the_new_checks() -> None:
    history = History()
    # Two clients' votes in flight together, as any load that could race has them.
    invocations = [history.invoke(n, "vote", {"choice": "yes"}, f"v-{n}") for n in range(3)]
    for n, invocation in enumerate(invocations):
        history.complete(invocation, "ok", {"choice": "yes", "count": n + 1})
    verdict = check(history.ops(), FinalState({"yes": 3}), CheckSettings(choices=("yes",)))
    assert verdict.status == "PASS"
    names = {c.name for c in verdict.checks}
    new = {"collections", "unique-ids", "stock-floor", "stock-conservation", "oversell"}
    assert not names & (new | {"echo", "errors"})
    assert "bounds" in names


def test_adds_and_sales_closed_when_the_run_stopped_are_unknown() -> None:
    ops = Ops()
    ops.read(stocks={"stock": 10})
    ops.add("0")
    ops.decrement("0")
    for f, start in (
        ("add", {"collection": "tasks", "element": "t-1"}),
        ("decrement", {"stock": "stock", "floor": 0}),
    ):
        ops.history.invoke(2, f, start, f"late-{f}")
    ops.history.close_pending()
    verdict = ops.judge(collections={"tasks": ["t-0", "t-1"]}, stocks={"stock": 8})
    assert status(verdict, "collections") == "PASS"
    assert status(verdict, "stock-conservation") == "PASS"
    assert "1 of 1 unknown adds landed" in verdict.check("collections").detail


def test_a_read_during_the_run_holding_a_value_twice_fails() -> None:
    ops = Ops()
    ops.add("0")
    ops.read(process=2, collections={"tasks": ["t-0", "t-0"]})
    result = ops.judge(collections={"tasks": ["t-0"]}).check("collections")
    assert result.status == "FAIL"
    assert result.witnesses[0]["in"].startswith("read op")


def test_without_an_initial_read_the_stock_checks_are_unknown_not_fail() -> None:
    ops = Ops()
    ops.decrement("0")
    ops.read(stocks={"stock": 9})  # the final read, after the load: not an initial level
    verdict = ops.judge(stocks={"stock": 9})
    assert status(verdict, "stock-conservation") == "UNKNOWN"
    assert status(verdict, "oversell") == "UNKNOWN"
    assert verdict.status == "UNKNOWN"


def test_a_sold_out_refusal_is_not_an_error_once_the_stock_is_gone() -> None:
    def run(final: int) -> str:
        ops = Ops()
        ops.marker("calibrate", requests=1, all_ok=False)
        ops.decrement("calibrate-0", process="calibrate")
        ops.read(stocks={"stock": 1})
        ops.decrement("0")
        ops.decrement("1", kind="fail", status=409, error="none left")
        return status(ops.judge(stocks={"stock": final}), "errors")

    assert run(final=0) == "PASS"
    assert run(final=5) == "FAIL"  # refused with stock left: not a sell-out


def test_a_stock_nobody_bought_from_proves_nothing() -> None:
    assert status(stock_run(final=10, ok=0), "stock-conservation") == "UNKNOWN"


def test_adds_that_never_overlapped_prove_nothing() -> None:
    """One client: each add completes before the next is sent, so nothing could race."""
    ops = Ops()
    for n in range(3):
        ops.add(str(n))
    verdict = ops.judge(collections={"tasks": ["t-0", "t-1", "t-2"]})
    assert verdict.check("collections").status == "PASS"
    assert verdict.check("concurrency").status == "UNKNOWN"
    assert verdict.status == "UNKNOWN"
    assert "no two of the 3 load requests were ever in flight" in verdict.reason


def test_overlapping_adds_are_named_as_load_requests() -> None:
    ops = Ops()
    with ops.concurrently():
        ops.add("0", process=0)
        ops.add("1", process=1)
    verdict = ops.judge(collections={"tasks": ["t-0", "t-1"]})
    assert verdict.check("concurrency").detail == (
        "up to 2 load requests were in flight at the same moment"
    )
    assert verdict.status == "PASS"
