"""`racecheck run` and `racecheck check`: one run end to end, or re-check a saved one."""

from __future__ import annotations

import contextlib
import shlex
import sys
from pathlib import Path

import click

from loadtests import defaults
from loadtests.check.exitcodes import EXIT_UNKNOWN, exit_code_for
from loadtests.check.outcomes import lines
from loadtests.cli.console import pipe_say, stdout_console
from loadtests.cli.exits import handle_signals, run_command
from loadtests.cli.format import checks_table, counts_table, verdict_line
from loadtests.cli.options import (
    preempt_options,
    race_window_option,
    replace_option,
    switch_interval_option,
)
from loadtests.defaults import BUILDS, DRIVERS, EXPECTS, SERVERS
from loadtests.run.execute import execute
from loadtests.run.settings import RunSettings


def print_result(result: dict[str, object], run_dir: Path) -> None:
    """The summary a person (or a CI log) reads at the end of a run."""
    console = stdout_console()
    if result.get("counts"):  # a run of collections, stocks or calls only has no votes
        console.print(counts_table(result))
    console.print(checks_table(result))
    outcome_lines = lines(result.get("outcomes"))  # type: ignore[arg-type]
    if outcome_lines:
        console.print("why requests were fail or info:", style="bold", markup=False)
        for line in outcome_lines:
            console.print(f"  {line}", markup=False, highlight=False)
    # soft_wrap: the verdict stays one line, for a person and for grep alike.
    console.print(verdict_line(result, str(run_dir)), soft_wrap=True)
    for note in result.get("notes") or ():  # type: ignore[attr-defined]
        console.print(f"note: {note}", style="yellow", markup=False)


@click.command("run")
@click.option(
    "--build",
    type=click.Choice(BUILDS),
    default="locked",
    show_default=True,
    help="Reference app build.",
)
@click.option(
    "--server",
    type=click.Choice(SERVERS),
    default=None,
    help="WSGI server hosting the target [default: waitress, or the target file's].",
)
@click.option(
    "--threads", type=click.IntRange(min=1), default=None, help="Server threads [default: 16]."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Server processes: gunicorn workers, apache daemon processes [default: 1].",
)
@click.option("--driver", type=click.Choice(DRIVERS), default="requests", show_default=True)
@click.option(
    "--clients",
    type=click.IntRange(min=1),
    default=defaults.CLIENTS,
    show_default=True,
    help="Concurrent clients (threads or Locust users).",
)
@click.option(
    "--votes",
    type=click.IntRange(min=1),
    default=None,
    help=f"Total votes to send [default: {defaults.VOTES:,} unless --duration is given].",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds of load (instead of --votes).",
)
@click.option("--target-url", default=None, help="A target that is already running.")
@click.option(
    "--app",
    default=None,
    help="module:attr of an app that speaks the reference voting API to host; for any "
    "other app use --target FILE.",
)
@click.option(
    "--target",
    "target_file",
    type=click.Path(path_type=Path),
    default=None,
    help="A target file (TOML) describing any Flask app's counters.",
)
@click.option(
    "--expect",
    type=click.Choice(EXPECTS),
    default=None,
    help="violation: a FAIL is the expected outcome (exit 0), a PASS is not.",
)
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Locust worker processes (--driver locust).",
)
@click.option(
    "--nemesis",
    multiple=True,
    metavar="NAME",
    help="Fault to inject during the load (repeatable): kill-restart, stall or "
    "reset-connections. See docs/faults.md.",
)
@click.option(
    "--nemesis-schedule",
    default=None,
    metavar="SPEC",
    help="When faults strike, in seconds: at=, every=, duration=, count=, "
    "e.g. 'at=2,every=4,duration=1.5'.",
)
@click.option("--allow-remote", is_flag=True, help="Allow load to a non-loopback host.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Run directory [default: reports/<UTC timestamp>-<name>/].",
)
@replace_option
@click.option("--burst", is_flag=True, help="Release each round of votes at once from a barrier.")
@click.option(
    "--read-every",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Every Nth op of each client reads the counters, and each read is checked "
    f"against the votes acknowledged before it [default: the target file's, else "
    f"{defaults.READ_EVERY}: no reads during the run].",
)
@race_window_option
@switch_interval_option
@preempt_options
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=defaults.TIMEOUT,
    show_default=True,
    help="Seconds to wait for each reply (then the op is info).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the vote mix.")
@click.option("--name", default=None, help="Name of the run (used in its directory name).")
def run_cmd(**options: object) -> None:
    """Run load against a target, check the history, and exit with the verdict."""
    command = "racecheck " + shlex.join(sys.argv[1:])

    def body() -> int:
        settings = RunSettings(
            nemesis=tuple(options.pop("nemesis")),  # type: ignore[arg-type]
            preempt_modules=tuple(options.pop("preempt_modules")),  # type: ignore[arg-type]
            command=command,
            **options,  # type: ignore[arg-type]
        )
        with handle_signals():
            try:
                outcome = execute(settings, say=pipe_say())
            except KeyboardInterrupt:
                # Only before the run began (or on a second signal while it was being
                # written): execute() itself turns an interrupted run into a verdict.
                click.secho(
                    "racecheck: interrupted before the run's results were written", err=True
                )
                return EXIT_UNKNOWN
        with contextlib.suppress(KeyboardInterrupt):  # the results are on disk already
            print_result(outcome.result, outcome.run_dir)
        return outcome.exit_code

    sys.exit(run_command(body))


@click.command("check")
@click.argument("run_dir", type=click.Path(path_type=Path))
def check_cmd(run_dir: Path) -> None:
    """Re-check a saved run from its history.jsonl and result.json."""
    from loadtests.run.rundir import recheck

    def body() -> int:
        verdict, old = recheck(run_dir)
        result = dict(old)
        result.update(
            verdict=verdict.status,
            reason=verdict.reason,
            as_expected=verdict.as_expected,
            counts={k: v.to_dict() for k, v in verdict.counts.items()},
            checks=[c.to_dict() for c in verdict.checks],
            lost=verdict.lost,
            phantom=verdict.phantom,
            shortfall=verdict.shortfall,
            overwritten=verdict.overwritten,
        )
        print_result(result, run_dir)
        if verdict.status != old["verdict"]:
            click.secho(f"note: the saved verdict was {old['verdict']}", err=True, fg="yellow")
        return exit_code_for(verdict)

    sys.exit(run_command(body))
