"""`racecheck bench`: the driver against hey/wrk and Locust, checker speed, detection rate."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from loadtests.bench.main import SECTIONS, BenchSettings, format_table, run_bench, write_results
from loadtests.cli.exits import handle_signals, run_command
from loadtests.run.rundir import new_run_dir


@click.command("bench")
@click.option("--quick", is_flag=True, help="Smaller runs: a few minutes on a 2-core machine.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Where results.json and summary.txt go [default: reports/<UTC timestamp>-bench/].",
)
@click.option(
    "--only",
    type=click.Choice(SECTIONS),
    multiple=True,
    help="Run only these sections (repeatable) [default: all].",
)
def command(quick: bool, out: Path | None, only: tuple[str, ...]) -> None:
    """Measure racecheck against hey, wrk and Locust, and the checker and detection speed.

    Load goes to 127.0.0.1 only, every run is bounded, and every process started
    is stopped. Needs the Debian packages hey and wrk for the client comparison.
    """

    def body() -> int:
        settings = BenchSettings.for_mode(quick, only or SECTIONS)
        out_dir = new_run_dir("bench", out=out)
        with handle_signals(), tempfile.TemporaryDirectory(prefix="racecheck-bench-") as tmp:
            results = run_bench(settings, Path(tmp), lambda line: click.echo(line, err=True))
        data, summary = write_results(out_dir, results)
        click.echo(format_table(results))
        click.echo(f"results: {data}\nsummary: {summary}")
        return 0

    sys.exit(run_command(body))
