"""Compact memory of acknowledged votes, for a checker that must fit 10^7 ops in RAM.

The duplicate-count check needs, for every (counter group, returned count), the
first vote that returned it, because a later vote with the same count makes that
first one a witness. A dict of tuples to objects costs ~300 bytes per vote; here
the first votes live in flat arrays (~50 bytes per vote) and a group's counts,
which are dense small integers in practice (1, 2, 3, ...), index an array of
slots. Counts that are not dense (negative, far apart, not ints) fall back to a
dict, so any history is handled exactly; only the memory differs.
"""

from __future__ import annotations

from array import array
from typing import Any

# Stored for "no invoke seen" (an orphan completion): array('q') cannot hold None.
_NONE = -(2**63)
# Room left below a group's first count, for counts that arrive slightly out of order.
_DENSE_BELOW = 16
# The dense array of a group never holds more than 4 slots per distinct count seen plus
# this slack: its size is bounded by the evidence, not by the values a (hostile) target
# returns, so a reply with count 10**12, or counts that double at every reply, never
# allocates by value; such counts go to the sparse dict, one entry per reply.
_DENSE_SLACK = 1 << 10


class AckStore:
    """The first ack of each count: invoke/complete times in an int array, refs in a list."""

    __slots__ = ("_refs", "_times")

    def __init__(self) -> None:
        self._times: array[int] | list[int | None] = array("q")
        self._refs: list[Any] = []  # vote_id, process, pid per slot

    def __len__(self) -> int:
        return len(self._refs) // 3

    def add(
        self, vote_id: str | None, process: Any, pid: Any, invoke_ns: int | None, complete_ns: int
    ) -> None:
        """Remember one ack in the next slot (slots are numbered from 0 in order)."""
        self._refs.extend((vote_id, process, pid))
        times = self._times
        if type(invoke_ns) is int and type(complete_ns) is int and invoke_ns != _NONE:
            try:
                times.extend((invoke_ns, complete_ns))
                return
            except OverflowError:
                pass
        elif invoke_ns is None and type(times) is array and type(complete_ns) is int:
            try:
                times.extend((_NONE, complete_ns))
                return
            except OverflowError:
                pass
        # A time that is not a 64-bit int: keep exact values in a plain list.
        exact = times if isinstance(times, list) else [None if t == _NONE else t for t in times]
        exact.extend((invoke_ns, complete_ns))
        self._times = exact

    def get(self, slot: int) -> tuple[Any, Any, Any, int | None, Any]:
        """(vote_id, process, pid, invoke_ns, complete_ns) of a slot."""
        vote_id, process, pid = self._refs[3 * slot : 3 * slot + 3]
        invoke_ns, complete_ns = self._times[2 * slot], self._times[2 * slot + 1]
        if isinstance(self._times, array) and invoke_ns == _NONE:
            invoke_ns = None
        return vote_id, process, pid, invoke_ns, complete_ns


class CountIndex:
    """Per counter group, which slot first returned each count."""

    __slots__ = ("_base", "_dense", "_sparse")

    def __init__(self) -> None:
        self._base: int | None = None
        self._dense = array("q")  # slot + 1 at [count - base]; 0 means not seen
        self._sparse: dict[Any, int] = {}

    def dense(self) -> tuple[array[int], int | None]:
        """The dense array (stable: it only grows in place) and its base, for inlining."""
        return self._dense, self._base

    def dense_size(self) -> int:
        """How many slots the dense array holds (its memory is 8 bytes each)."""
        return len(self._dense)

    def first(self, count: Any, slot: int) -> int | None:
        """The slot that returned ``count`` first, or None (then ``slot`` is recorded)."""
        if type(count) is not int:
            count = _as_int(count)
        if type(count) is int:
            base = self._base
            if base is None:
                # Counts start near 1 and arrive slightly out of order: leave room below.
                base = self._base = max(0, count - _DENSE_BELOW) if count >= 0 else count
            offset = count - base
            dense = self._dense
            if 0 <= offset < len(dense):
                seen = dense[offset]
                if seen:
                    return seen - 1
                dense[offset] = slot + 1
                return None
            # Distinct counts seen, counted only when the array may grow (C speed, and
            # growth is geometric), so the common path pays nothing for the bound.
            seen = len(dense) - dense.count(0) + len(self._sparse)
            limit = 4 * seen + _DENSE_SLACK
            if 0 <= offset < limit:
                self._grow(min(max(offset + 1, 2 * len(dense)), limit))
                # The count may have arrived before, when it was out of range.
                return self.first(count, slot)
        seen_slot = self._sparse.setdefault(count, slot)
        return None if seen_slot == slot else seen_slot

    def _grow(self, size: int) -> None:
        dense, base = self._dense, self._base
        assert base is not None
        dense.frombytes(bytes(8 * (size - len(dense))))  # zeros: not seen
        # Counts kept in the dict while out of range move in, so each count has
        # exactly one home and a repeat is always found.
        for count in [c for c in self._sparse if type(c) is int and 0 <= c - base < size]:
            dense[count - base] = self._sparse.pop(count) + 1


def _as_int(count: Any) -> Any:
    """An int for a count equal to one (True, 3.0), as a dict key would match it."""
    try:
        as_int = int(count)
    except (TypeError, ValueError, OverflowError):
        return count
    return as_int if as_int == count else count
