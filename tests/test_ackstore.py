"""The compact ack store and count index behave exactly like a plain dict would."""

from __future__ import annotations

import random
from typing import Any

import pytest

from loadtests.check.ackstore import AckStore, CountIndex
from loadtests.check.checker import CheckSettings, FinalState, check
from loadtests.history import History


def reference_first(counts: list[Any]) -> list[int | None]:
    """What a dict {count: first position} says for each position."""
    seen: dict[Any, int] = {}
    out = []
    for position, count in enumerate(counts):
        first = seen.setdefault(count, position)
        out.append(None if first == position else first)
    return out


def index_first(counts: list[Any]) -> list[int | None]:
    index = CountIndex()
    return [index.first(count, position) for position, count in enumerate(counts)]


@pytest.mark.parametrize(
    "counts",
    [
        [1, 2, 3, 2, 1, 4],
        [5, 4, 3, 2, 1, 1],  # arriving out of order, below the first count
        [1, 10**12, 2, 10**12, 3],  # one far count stays sparse, the rest dense
        [200_000, 1, 200_000, 1],  # a first count far from zero
        [-3, -3, 0, 0],  # negative counts
        ["7", 7, "7", True, 1],  # not ints (and True == 1, as in a dict)
        [2.0, 2, 2.5, 1, True, float("nan"), float("inf"), float("inf")],
        [10**30, 10**30],  # beyond 64 bits
    ],
)
def test_count_index_matches_a_dict(counts: list[Any]) -> None:
    assert index_first(counts) == reference_first(counts)


def test_a_count_seen_while_out_of_range_is_found_after_the_array_grows() -> None:
    # 150,000 is beyond the first growth, so it goes to the dict; later counts grow
    # the dense array over it, and a repeat must still be found.
    counts = [1, 150_000, *range(2, 140_000, 7), 150_000, 150_001, 150_000]
    assert index_first(counts) == reference_first(counts)


def test_random_counts_match_a_dict() -> None:
    rng = random.Random(7)
    counts = [
        rng.choice([rng.randrange(1, 5000), rng.randrange(-10, 10**7)]) for _ in range(20_000)
    ]
    assert index_first(counts) == reference_first(counts)


def test_ack_store_round_trips_every_kind_of_time() -> None:
    store = AckStore()
    rows = [
        ("a", 1, 100, 10, 20),
        ("b", "w1/u2", None, None, 30),  # an orphan: no invoke time
        ("c", 3, 100, 2**70, 2**71),  # times beyond 64 bits
        ("d", 4, 101, -(2**63), 5),  # the very value used internally for None
        ("e", 5, 102, None, 6),
    ]
    for vote_id, process, pid, invoke_ns, complete_ns in rows:
        store.add(vote_id, process, pid, invoke_ns, complete_ns)
    assert len(store) == len(rows)
    assert [store.get(slot) for slot in range(len(rows))] == rows


def random_history(rng: random.Random, votes: int) -> History:
    history = History()
    counters: dict[str, int] = {"yes": 0, "no": 0}
    for number in range(votes):
        choice = rng.choice(["yes", "no"])
        process = rng.randrange(4)
        inv = history.append(process, "invoke", "vote", {"choice": choice}, f"v{number}", number)
        if rng.random() < 0.1:
            history.append(process, "info", "vote", {"choice": choice}, f"v{number}", number)
            continue
        if rng.random() > 0.2:
            counters[choice] += 1
        value = {
            "choice": choice,
            "count": counters[choice],
            "pid": rng.choice([10, 10, 10, 11]),
            "resolution_id": 1,
        }
        history.complete(inv, "ok", value, number)
    return history


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("shared", [False, True])
def test_the_checker_names_the_same_witnesses_as_a_dict_would(seed: int, shared: bool) -> None:
    rng = random.Random(seed)
    history = random_history(rng, 400)
    verdict = check(
        history.ops(),
        FinalState({"yes": 5, "no": 5}, 1),
        CheckSettings(choices=("yes", "no"), shared_state=shared),
    )
    # The oracle: the first ok vote of each (choice, pid, count), in history order.
    first: dict[tuple[Any, ...], str] = {}
    expected = []
    for op in history.ops():
        if op.type != "ok":
            continue
        group = (op.value["choice"], None if shared else op.value["pid"], op.value["count"])
        earlier = first.setdefault(group, str(op.vote_id))
        if earlier != op.vote_id:
            expected.append((earlier, op.vote_id))
    unique = verdict.check("unique-counts")
    pairs = [(w["votes"][0]["vote_id"], w["votes"][1]["vote_id"]) for w in unique.witnesses]
    assert unique.witness_total == len(expected)
    assert pairs == expected[:20]
