"""The nemesis offline: schedule syntax, refusals before anything starts, and the runner."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from loadtests.cli import main
from loadtests.errors import UsageError
from loadtests.history import History
from loadtests.nemesis import runner as nemesis
from loadtests.nemesis.schedule import Schedule, parse_schedule
from loadtests.run.plan import plan
from loadtests.run.settings import RunSettings
from loadtests.target.launcher import TargetSpec


def settings(**overrides: Any) -> RunSettings:
    base: dict[str, Any] = {"votes": 100, **overrides}
    return RunSettings(**base)


# -- the schedule syntax ------------------------------------------------------------------


def test_a_schedule_sets_only_the_keys_it_names() -> None:
    assert parse_schedule("at=2,every=4,duration=1.5") == {"at": 2.0, "every": 4.0, "duration": 1.5}
    assert parse_schedule(" COUNT = 3 ") == {"count": 3}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "it is empty"),
        ("at", "'at' is not key=value"),
        ("at=", "'at=' is not key=value"),
        ("at=2,,every=3", "'' is not key=value"),
        ("when=2", "unknown key 'when'"),
        ("at=2,at=3", "at is given twice"),
        ("at=soon", "at='soon' is not a number"),
        ("at=-1", "must be between 0 and"),
        ("every=nan", "must be between 0 and"),
        ("every=inf", "must be between 0 and"),
        ("every=0", "every=0 would strike without pause"),
        ("count=0", "count='0' must be at least 1"),
        ("count=1.5", "count='1.5' is not a whole number"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_flag_and_the_part(text: str, says: str) -> None:
    with pytest.raises(UsageError) as refused:
        parse_schedule(text)
    message = str(refused.value)
    assert message.startswith("--nemesis-schedule")
    assert says in message
    assert "e.g. 'at=2,every=4,duration=1.5'" in message


def test_offsets_follow_at_every_and_count() -> None:
    assert list(Schedule(at=1.0, every=2.0, count=3).offsets()) == [1.0, 3.0, 5.0]
    assert list(Schedule(at=0.5).offsets()) == [0.5]  # no period: once
    endless = Schedule(at=0.0, every=1.0).offsets()
    assert [next(endless) for _ in range(4)] == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("names", "schedule", "says"),
    [
        (("partition",), None, "unknown --nemesis 'partition'; known: kill-restart, stall"),
        (("stall", "stall"), None, "--nemesis stall is given twice"),
        ((), "at=1", "--nemesis-schedule needs a fault to schedule"),
        (("stall",), "duration=0", "--nemesis stall needs duration > 0"),
        (("reset-connections",), "every=1,duration=1", "every=1 must be longer than duration=1"),
        (("kill-restart",), "duration=4000", "duration=4000 is too long"),
    ],
)
def test_validate_refuses_before_anything_starts(
    names: tuple[str, ...], schedule: str | None, says: str
) -> None:
    with pytest.raises(UsageError, match=None) as refused:
        nemesis.validate(names, schedule)
    assert says in str(refused.value)


def test_kill_restart_may_have_no_downtime_and_every_nemesis_has_a_valid_default() -> None:
    nemesis.validate(list(nemesis.NEMESES))
    nemesis.validate(["kill-restart"], "at=0,count=1")


def test_the_stall_waits_for_its_sleepers_before_striking_again() -> None:
    schedule = nemesis.schedule_for("stall", settings(nemesis=("stall",), timeout=2.0))
    # stall 3 s (timeout + margin) + window 1 s + 1 s of slack
    assert schedule.every == 5.0
    assert nemesis.stall_seconds(2.0) > 2.0
    given = settings(nemesis=("stall",), nemesis_schedule="every=9")
    assert nemesis.schedule_for("stall", given).every == 9.0


# -- refusals that depend on the target ----------------------------------------------------


@pytest.mark.parametrize("name", ["kill-restart", "stall"])
def test_a_target_started_elsewhere_cannot_take_process_faults(name: str) -> None:
    given = settings(nemesis=(name,), target_url="http://127.0.0.1:9")
    with pytest.raises(UsageError) as refused:
        plan(given)
    message = str(refused.value)
    assert f"--nemesis {name}" in message and "--target-url" in message
    assert "reset-connections" in message  # what works instead


def test_reset_connections_works_on_a_target_started_elsewhere() -> None:
    the_plan = plan(settings(nemesis=("reset-connections",), target_url="http://127.0.0.1:9"))
    assert the_plan.spec is None and the_plan.url == "http://127.0.0.1:9"


def test_a_target_file_url_is_started_elsewhere_too(tmp_path: Path) -> None:
    target = tmp_path / "t.toml"
    target.write_text(
        '[target]\nurl = "http://127.0.0.1:9"\n[[counters]]\nname = "a"\n'
        'increment = { path = "/a" }\nread = { path = "/a", json = "a" }\n'
    )
    with pytest.raises(UsageError, match="--nemesis kill-restart needs a target that racecheck"):
        plan(settings(nemesis=("kill-restart",), target_file=target))


def test_stall_needs_the_reference_apps_hook() -> None:
    with pytest.raises(UsageError, match=r"tests\.apps\.tiny_app:app has no such hook"):
        plan(settings(nemesis=("stall",), app="tests.apps.tiny_app:app"))


def test_stall_cannot_outlast_a_timeout_beyond_the_hooks_limit() -> None:
    with pytest.raises(UsageError, match="use --timeout 59 or less"):
        plan(settings(nemesis=("stall",), timeout=59.5))


def test_adapt_spec_turns_on_the_hook_and_keeps_sqlite_across_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RACECHECK_DATABASE", raising=False)
    spec = TargetSpec(build="sqlite")
    both = settings(nemesis=("stall", "kill-restart"), build="sqlite")
    adapted = nemesis.adapt_spec(both, spec, str(tmp_path))
    assert adapted.env["RACECHECK_FAULT_INJECTION"] == "true"
    assert adapted.env["RACECHECK_DATABASE"] == str(tmp_path / "votes.sqlite3")
    assert nemesis.adapt_spec(settings(), spec, str(tmp_path)) is spec
    # A database the user chose is theirs: left alone.
    monkeypatch.setenv("RACECHECK_DATABASE", str(tmp_path / "mine.sqlite3"))
    assert "RACECHECK_DATABASE" not in nemesis.adapt_spec(both, spec, str(tmp_path)).env


def test_the_cli_refuses_a_process_fault_on_a_url_with_exit_2() -> None:
    result = CliRunner().invoke(
        main,
        ["run", "--votes", "10", "--target-url", "http://127.0.0.1:9", "--nemesis", "stall"],
    )
    assert result.exit_code == 2, result.output
    assert "--nemesis stall needs a target that racecheck starts itself" in result.output
    assert "Traceback" not in result.output


# -- the runner ------------------------------------------------------------------------------


class Recorder:
    """A fault that only notes when it struck."""

    name = "recorder"

    def __init__(self, hold: float = 0.0) -> None:
        self.times: list[float] = []
        self.hold = hold
        self.closed = False

    def strike(self, index: int, schedule: Schedule, stop: threading.Event) -> None:
        self.times.append(time.monotonic())
        stop.wait(self.hold)

    def close(self) -> None:
        self.closed = True


def test_faults_strike_on_schedule_and_stop_when_the_load_does() -> None:
    fault = Recorder()
    runner = nemesis._Runner(fault, Schedule(at=0.0, every=0.05), threading.Event())
    the_set = nemesis.NemesisSet([runner]).start()
    deadline = time.monotonic() + 30
    while len(fault.times) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    the_set.stop()
    assert len(fault.times) >= 3
    assert not runner.is_alive() and fault.closed
    struck = len(fault.times)
    time.sleep(0.1)  # nothing strikes after stop(): there is no event to wait for here
    assert len(fault.times) == struck
    assert runner.strikes == struck and runner.error is None


def test_stop_cuts_a_fault_window_short() -> None:
    fault = Recorder(hold=3600.0)
    runner = nemesis._Runner(fault, Schedule(at=0.0, duration=3600.0), threading.Event())
    the_set = nemesis.NemesisSet([runner]).start()
    while not fault.times:
        time.sleep(0.01)
    began = time.monotonic()
    the_set.stop()
    assert time.monotonic() - began < 30  # not the hour of the window
    assert not runner.is_alive()


def test_a_fault_that_never_struck_or_broke_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    class Broken(Recorder):
        def strike(self, index: int, schedule: Schedule, stop: threading.Event) -> None:
            raise RuntimeError("boom")

    idle = nemesis._Runner(Recorder(), Schedule(at=3600.0), threading.Event())
    broken = nemesis._Runner(Broken(), Schedule(at=0.0), idle.stop)
    the_set = nemesis.NemesisSet([idle, broken]).start()
    broken.join(30)
    the_set.stop()
    err = capsys.readouterr().err
    assert "nemesis recorder never struck: the load ended before at=3600 s" in err
    assert "nemesis recorder stopped: RuntimeError: boom" in err


def test_no_nemesis_is_a_no_op() -> None:
    the_set = nemesis.start_nemeses(settings(), None, History("harness"))
    assert the_set.load_url("http://127.0.0.1:1") == "http://127.0.0.1:1"
    the_set.stop()
