"""The history: thread-safe appends, pending ops closed as info, files, and exact merges."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from loadtests.errors import HistoryError
from loadtests.history import History, Op, iter_file, load, merge


def vote_pair(history: History, process: int, vote_id: str, count: int) -> tuple[Op, Op]:
    """Record one acknowledged yes vote, invoke then ok."""
    inv = history.invoke(process, "vote", {"choice": "yes"}, vote_id)
    done = history.complete(inv, "ok", {"choice": "yes", "count": count})
    return inv, done


def test_append_hands_out_indexes_in_order_and_fills_every_field() -> None:
    history = History("requests")
    inv, done = vote_pair(history, 3, "k-3-1", 17)
    assert (inv.index, done.index) == (0, 1)
    assert inv.type == "invoke" and done.type == "ok"
    assert done.process == 3 and done.vote_id == "k-3-1" and done.f == "vote"
    assert inv.driver == done.driver == "requests"
    assert inv.time_ns <= done.time_ns
    assert list(history) == [inv, done] and len(history) == 2


def test_an_explicit_time_and_driver_are_kept() -> None:
    history = History("harness")
    op = history.append("w1/u2", "invoke", "vote", {}, "x", time_ns=42, driver="locust")
    assert (op.time_ns, op.driver, op.process) == (42, "locust", "w1/u2")


def test_complete_refuses_invoke_as_a_completion() -> None:
    history = History()
    inv = history.invoke(0, "read", None)
    with pytest.raises(HistoryError, match="ok, fail or info"):
        history.complete(inv, "invoke", None)


def test_appends_from_many_threads_lose_nothing_and_index_order_is_time_order() -> None:
    history = History()
    threads_n, per_thread = 16, 200
    start = threading.Barrier(threads_n)

    def work(process: int) -> None:
        start.wait()  # all threads append at once: the worst case for the lock
        for i in range(per_thread):
            vote_pair(history, process, f"v-{process}-{i}", i + 1)

    threads = [threading.Thread(target=work, args=(p,)) for p in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    ops = history.ops()
    assert len(ops) == threads_n * per_thread * 2
    assert [op.index for op in ops] == list(range(len(ops)))
    times = [op.time_ns for op in ops]
    assert times == sorted(times), "time order must agree with index order"
    # Each process's own ops are in its program order: invoke, ok, invoke, ok, ...
    for process in range(threads_n):
        mine = [op for op in ops if op.process == process]
        assert [op.type for op in mine] == ["invoke", "ok"] * per_thread
        assert [op.vote_id for op in mine[::2]] == [f"v-{process}-{i}" for i in range(per_thread)]
    assert history.pending() == 0


def test_close_pending_completes_open_ops_as_info_with_their_choice() -> None:
    history = History()
    vote_pair(history, 0, "done", 1)
    open_vote = history.invoke(1, "vote", {"choice": "no"}, "open-vote")
    open_read = history.invoke("harness", "read", None)
    assert history.pending() == 2

    closed = history.close_pending("cut off")

    assert history.pending() == 0
    by_f = {op.f: op for op in closed}
    assert set(by_f) == {"vote", "read"}
    vote = by_f["vote"]
    assert vote.type == "info" and vote.vote_id == "open-vote" and vote.process == 1
    assert vote.value == {"choice": "no", "error": "cut off", "status": None}
    assert by_f["read"].value == {"error": "cut off", "status": None}
    assert by_f["read"].process == open_read.process
    assert open_vote.index < vote.index
    assert history.close_pending() == []  # nothing left to close


def test_a_reply_that_arrives_after_close_pending_is_not_a_second_completion() -> None:
    history = History()
    straggler = history.invoke(2, "vote", {"choice": "yes"}, "late")
    (closed,) = history.close_pending("interrupted while in flight")

    late = history.complete(straggler, "ok", {"choice": "yes", "count": 9})

    assert late is closed and late.type == "info"
    assert [op.type for op in history] == ["invoke", "info"]
    # Other ops still complete normally afterwards.
    vote_pair(history, 3, "after", 1)
    assert [op.type for op in history][-2:] == ["invoke", "ok"]


def test_write_then_iter_file_round_trips_every_field(tmp_path: Path) -> None:
    history = History("requests")
    vote_pair(history, 0, "a-0", 1)
    inv = history.invoke("harness", "read", None)
    history.complete(inv, "ok", {"counts": {"yes": 1}, "pid": 7, "resolution_id": 1})
    path = tmp_path / "history.jsonl"

    history.write(path)

    assert list(iter_file(path)) == history.ops()
    assert load(path).ops() == history.ops()
    assert load(path).driver == "requests"
    first = json.loads(path.read_text().splitlines()[0])
    assert list(first) == [
        "index",
        "process",
        "type",
        "f",
        "value",
        "time_ns",
        "vote_id",
        "driver",
    ]
    assert not path.with_suffix(".jsonl.tmp").exists()


def test_a_loaded_history_knows_which_ops_are_still_open(tmp_path: Path) -> None:
    history = History()
    history.invoke(0, "vote", {"choice": "yes"}, "left-open")
    path = tmp_path / "h.jsonl"
    history.write(path)
    assert load(path).pending() == 1


def test_blank_lines_are_ignored(tmp_path: Path) -> None:
    history = History()
    vote_pair(history, 0, "a", 1)
    path = tmp_path / "h.jsonl"
    history.write(path)
    path.write_text(path.read_text().replace("\n", "\n\n"))
    assert len(list(iter_file(path))) == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"h\.jsonl:2: not JSON"),
        ('{"index": 1, "process": 0, "type": "done", "f": "vote", "time_ns": 1}', "done"),
        ('{"index": 1, "process": 0, "type": "ok", "f": "vote"}', "time_ns"),
        ('{"index": "x", "process": 0, "type": "ok", "f": "vote", "time_ns": 1}', "malformed"),
        ("[1, 2]", "malformed"),
    ],
)
def test_malformed_lines_raise_history_error(tmp_path: Path, line: str, message: str) -> None:
    good = json.dumps(
        {"index": 0, "process": 0, "type": "invoke", "f": "read", "value": None, "time_ns": 1}
    )
    path = tmp_path / "h.jsonl"
    path.write_text(f"{good}\n{line}\n")
    with pytest.raises(HistoryError, match=message):
        list(iter_file(path))


def test_a_malformed_op_error_names_its_line_number(tmp_path: Path) -> None:
    good = json.dumps(
        {"index": 0, "process": 0, "type": "invoke", "f": "read", "value": None, "time_ns": 1}
    )
    path = tmp_path / "h.jsonl"
    path.write_text(f"{good}\n{good}\n" + '{"index": 2, "type": "ok"}\n')
    with pytest.raises(HistoryError, match=r"h\.jsonl:3"):
        list(iter_file(path))


def test_a_missing_file_is_a_history_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="cannot read history"):
        list(iter_file(tmp_path / "absent.jsonl"))


def _worker_history(prefix: str, times: list[int], process: str) -> list[Op]:
    """A worker's own file: invoke/ok pairs at the given times."""
    history = History("locust")
    ops = []
    for i, t in enumerate(times):
        vote_id = f"{prefix}-{i}"
        inv = history.append(process, "invoke", "vote", {"choice": "yes"}, vote_id, time_ns=t)
        ops.append(inv)
        ops.append(history.append(process, "ok", "vote", {"count": i}, vote_id, time_ns=t + 5))
    return ops


def test_merge_keeps_every_op_once_orders_by_time_and_reindexes() -> None:
    a = _worker_history("w1", [10, 30, 50], "w1/u0")
    b = _worker_history("w2", [20, 40], "w2/u0")

    merged = merge([a, b]).ops()

    assert len(merged) == len(a) + len(b)
    assert [op.index for op in merged] == list(range(len(merged)))
    assert [op.time_ns for op in merged] == sorted(op.time_ns for op in a + b)
    key = lambda op: (op.process, op.type, op.vote_id, op.time_ns)  # noqa: E731
    assert sorted(map(key, merged)) == sorted(map(key, a + b))
    assert merge([a, b]).driver == "locust"


def test_merge_keeps_each_files_order_when_timestamps_tie() -> None:
    history = History()
    same = [
        history.append(0, "invoke", "vote", {"choice": "yes"}, f"t-{i}", time_ns=100)
        for i in range(5)
    ]
    other = _worker_history("o", [100], "w2/u0")

    merged = merge([same, other]).ops()

    mine = [op.vote_id for op in merged if op.process == 0]
    assert mine == [f"t-{i}" for i in range(5)]
    # Ties between files: the first file's ops come first, deterministically.
    assert [op.vote_id for op in merged[:5]] == mine


def test_merge_refuses_a_vote_id_found_in_two_histories() -> None:
    a = _worker_history("same", [1], "w1/u0")
    b = _worker_history("same", [2], "w2/u0")
    with pytest.raises(HistoryError, match=r"'same-0'.*history 0 and history 1"):
        merge([a, b])


def test_merge_accepts_the_same_vote_id_twice_within_one_history() -> None:
    # Invoke and completion of one vote share the id: that is not a duplicate.
    ops = _worker_history("one", [1, 2], "w1/u0")
    assert len(merge([ops]).ops()) == 4


def test_merged_history_tracks_ops_left_open() -> None:
    history = History()
    open_op = history.append(0, "invoke", "vote", {"choice": "no"}, "open", time_ns=5)
    merged = merge([[open_op], _worker_history("w", [1], "w1/u0")])
    assert merged.pending() == 1
    (closed,) = merged.close_pending()
    assert closed.vote_id == "open" and closed.value["choice"] == "no"


def test_pairs_joins_each_completion_to_its_invoke_by_the_one_rule() -> None:
    from loadtests.history import pairs

    history = History()
    a = history.invoke(0, "vote", {"choice": "yes"}, "v-1")
    read = history.invoke(0, "read", None)  # the same process, another key: no mix-up
    history.complete(read, "ok", {"counts": {}})
    history.complete(a, "ok", {"count": 1})
    history.append(1, "info", "vote", {}, "v-9")  # a completion without an invoke
    never = history.invoke(2, "vote", {"choice": "no"}, "v-2")
    got = [(i.index if i else None, c.index if c else None) for i, c in pairs(history.ops())]
    assert got == [(read.index, 2), (a.index, 3), (None, 4), (never.index, None)]
