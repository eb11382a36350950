"""The keeper: whatever racecheck starts dies with racecheck, even by SIGKILL.

A stand-in for racecheck (a Python process that starts children the way racecheck
does, through start_process) is SIGKILLed; its children, in process groups of their
own, and their own children must all be gone within 5 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from support.hygiene import alive, wait_for

from loadtests.target.launcher import group_members
from loadtests.target.lifeline import Lifeline

GONE_LIMIT = 5.0  # the bound: nothing alive 5 s after racecheck died

# Starts two children (one with a grandchild in its group), prints the pgids, waits.
PARENT = textwrap.dedent(
    """
    import sys, time
    from loadtests.target.processes import start_process
    first = start_process(["sleep", "300"])
    second = start_process(["sh", "-c", "sleep 300 & sleep 300"])
    print(first.pgid, second.pgid, flush=True)
    time.sleep(300)
    """
)


# As if racecheck died before it told the keeper about its second child: only the
# lifeline's token in the child's environment can find it.
UNTOLD = PARENT.replace(
    "print(first.pgid", "LIFELINE.release(second.pgid)\nprint(first.pgid"
).replace("import sys, time", "import sys, time\nfrom loadtests.target.lifeline import LIFELINE")


def _start_parent(code: str = PARENT) -> tuple[subprocess.Popen[str], list[int]]:
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert parent.stdout is not None
    pgids = [int(word) for word in parent.stdout.readline().split()]
    assert len(pgids) == 2, "the stand-in did not start its children"
    return parent, pgids


@pytest.mark.parametrize("code", [PARENT, UNTOLD], ids=["held", "untold"])
def test_children_die_with_a_sigkilled_parent(code: str) -> None:
    parent, pgids = _start_parent(code)
    try:
        assert wait_for(lambda: len(group_members(pgids[1])) == 3)  # sh and two sleeps
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        gone = wait_for(lambda: not any(group_members(g) for g in pgids), timeout=GONE_LIMIT)
        assert gone, {g: sorted(group_members(g)) for g in pgids}
    finally:
        assert parent.stdout is not None
        parent.stdout.close()
        for pgid in pgids:
            if group_members(pgid):
                os.killpg(pgid, signal.SIGKILL)


def _child(line: Lifeline, *, token: bool) -> subprocess.Popen[bytes]:
    env = line.child_env(None) if token else dict(os.environ)
    return subprocess.Popen(["sleep", "300"], env=env, start_new_session=True)


def test_a_clean_stop_lets_the_keeper_go() -> None:
    line = Lifeline()
    child = _child(line, token=True)
    line.hold(child.pid)
    keeper = line._keeper
    assert keeper is not None and alive(keeper.pid)
    child.kill()
    child.wait()
    line.release(child.pid)
    # Nothing held: the keeper has left (and was reaped), so nothing of ours outlives it.
    assert line._keeper is None
    assert not alive(keeper.pid)


def test_the_keeper_kills_the_tokens_carriers_and_nothing_else() -> None:
    line = Lifeline()
    ours = _child(line, token=True)
    stranger = _child(line, token=False)  # a process that took over a group id, say
    try:
        line.hold(ours.pid)
        line.hold(stranger.pid)
        line._close(clean=False)  # end-of-file without goodbye: as if racecheck had died
        assert ours.wait(GONE_LIMIT) == -signal.SIGKILL
        assert stranger.poll() is None
    finally:
        for child in (ours, stranger):
            child.kill()
            child.wait()
