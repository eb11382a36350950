"""Interrupts offline: signals held while a run is written, the exit code of an early Ctrl-C."""

from __future__ import annotations

import os
import signal

import pytest
from click.testing import CliRunner

from loadtests.cli import main
from loadtests.run import execute as run_module


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_one_signal_while_the_run_is_written_is_held(sig: signal.Signals) -> None:
    before = signal.getsignal(sig)
    with run_module._signals_held():
        os.kill(os.getpid(), sig)  # delivered at once to this, the main thread
        written = True  # reached: the signal did not break the writing
    assert written
    assert signal.getsignal(sig) is before  # and the old handler is back


def test_a_second_signal_still_interrupts_the_writing() -> None:
    with pytest.raises(KeyboardInterrupt), run_module._signals_held():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)


def test_a_ctrl_c_before_the_run_began_exits_3_not_1(monkeypatch: pytest.MonkeyPatch) -> None:
    # click turns an escaped KeyboardInterrupt into "Aborted!" and exit 1, which is
    # the exit code of a FAIL: an interrupted run has proved nothing, so it is 3.
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("loadtests.cli.run.execute", interrupted)
    result = CliRunner().invoke(main, ["run", "--votes", "5"])
    assert result.exit_code == 3, result.output
    assert "interrupted before the run's results were written" in result.output
    assert "Aborted" not in result.output
