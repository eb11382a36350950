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
from pathlib import Path

import pytest
from support.hygiene import alive, wait_for

from loadtests.target.launcher import group_members
from loadtests.target.lifeline import LIFELINE
from loadtests.target.processes import start_process

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


def test_a_clean_stop_lets_the_keeper_go(tmp_path: Path) -> None:
    process = start_process(["sleep", "300"])
    keeper = LIFELINE._keeper
    assert keeper is not None and alive(keeper.pid)
    process.stop(grace=1.0)
    # Nothing held: the keeper has left (and was reaped), so nothing of ours outlives it.
    assert LIFELINE._keeper is None
    assert not alive(keeper.pid)


def test_the_keeper_kills_only_what_is_still_held() -> None:
    kept = start_process(["sleep", "300"])
    stopped = start_process(["sleep", "300"])
    stopped.stop(grace=1.0)
    keeper = LIFELINE._keeper
    assert keeper is not None
    # End of file as if racecheck had died: the held group goes, the released one was
    # never signalled again (its pgid may already belong to someone else).
    LIFELINE._close(clean=False)
    assert wait_for(lambda: not group_members(kept.pgid), timeout=GONE_LIMIT)
    assert kept.wait(GONE_LIMIT) == -signal.SIGKILL
    assert stopped.poll() == -signal.SIGTERM
    kept.stop()  # reaps it, and lets go of its group
    assert not LIFELINE._groups
