"""`racecheck compare`: locked vs unlocked (and more) side by side, in one command."""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from loadtests import defaults
from loadtests.cli.console import stdout_console
from loadtests.cli.exits import handle_signals, run_command
from loadtests.cli.format import STYLE, verdict_text
from loadtests.cli.options import replace_option
from loadtests.defaults import BUILDS, DRIVERS, EXPECTS, SERVERS
from loadtests.run.compare import Cell, Comparison, Matrix, run_matrix

T = TypeVar("T")


def _split(
    convert: Callable[[str], T], allowed: Sequence[str] = ()
) -> Callable[..., tuple[T, ...]]:
    """A click callback turning "a,b,c" into a tuple, refusing unknown or malformed values."""

    def parse(ctx: click.Context, param: click.Parameter, raw: str | None) -> tuple[T, ...]:
        if raw is None:
            return ()
        values = []
        for word in (w.strip() for w in raw.split(",")):
            if not word:
                continue
            if allowed and word not in allowed:
                raise click.BadParameter(f"{word!r} is not one of {', '.join(allowed)}")
            try:
                values.append(convert(word))
            except ValueError:
                raise click.BadParameter(f"{word!r} is not a valid value") from None
        if not values:
            raise click.BadParameter("give at least one value, separated by commas")
        return tuple(values)

    return parse


def _num(value: Any) -> str:
    return (
        f"{value:,.0f}" if isinstance(value, int | float) and not isinstance(value, bool) else "-"
    )


def _ms(value: Any) -> str:
    return f"{value:.1f} ms" if isinstance(value, int | float) else "-"


def _mark(row: Mapping[str, Any]) -> Text:
    return Text("✓", style="bold green") if row["as_expected"] else Text("✗", style="bold red")


def format_lost(row: Mapping[str, Any]) -> Text:
    """Lost votes out of those acknowledged, red when any were lost."""
    if row.get("lost") is None:
        return Text("no final tally", style="dim")
    text = f"{_num(row['lost'])} of {_num(row['acknowledged'])}"
    return Text(text, style="bold red" if row["lost"] else "")


def format_cell_line(index: int, total: int, row: Mapping[str, Any], width: int = 0) -> Text:
    """One line per finished cell: mark, name, verdict against the expected one, numbers."""
    line = Text("  ")
    line.append_text(_mark(row))
    line.append(f" [{index + 1:>{len(str(total))}}/{total}] {row['name']:<{width}}  ")
    line.append_text(verdict_text(row["verdict"]))
    expected = "as expected" if row["as_expected"] else f"(expected {row['expected_verdict']})"
    line.append(f" {expected}  ")
    line.append_text(format_lost(row))
    line.append(" lost" if row.get("lost") is not None else "")
    line.append(f"  {_num(row.get('throughput'))} votes/s")
    if not row["as_expected"] and row.get("reason"):
        line.append(f"\n      {row['reason']}", style="dim")
    return line


def summary_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """The closing table: one line per cell, its verdict and what it cost."""
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    for name, justify in (
        ("", "left"),
        ("cell", "left"),
        ("verdict", "left"),
        ("expected", "left"),
        ("lost votes", "right"),
        ("votes/s", "right"),
        ("p99", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for row in rows:
        latency = row.get("latency_ms") or {}
        table.add_row(
            _mark(row),
            row["name"],
            verdict_text(row["verdict"]),
            row["expected_verdict"],
            format_lost(row),
            _num(row.get("throughput")),
            _ms(latency.get("p99")),
        )
    return table


def closing(comparison: Comparison, page: Path) -> list[Any]:
    """What a person reads last: the table, the one-line outcome, and where the report is."""
    from loadtests.report.compare_page import lesson

    done, planned = len(comparison.rows), len(comparison.cells)
    good = sum(bool(r["as_expected"]) for r in comparison.rows)
    if comparison.interrupted:
        outcome = Text(f"Interrupted after {done} of {planned} cells.", style=STYLE["UNKNOWN"])
    elif comparison.all_as_expected:
        outcome = Text(f"All {planned} cells got their expected verdict.", style=STYLE["PASS"])
    else:
        outcome = Text(
            f"{good} of {planned} cells got their expected verdict.", style=STYLE["FAIL"]
        )
    outcome.append(f" ({comparison.duration_s:.0f} s)", style="dim")
    parts: list[Any] = [Text(""), summary_table(comparison.rows), Text(""), outcome]
    parts += [Text(line) for line in lesson(comparison.rows)]
    report = Text("\nReport: ", style="bold")
    report.append(_shown(page / "index.html" if page.is_dir() else page), style="bold cyan")
    parts.append(report)
    return parts


def _shown(path: Path) -> str:
    """The path relative to the current directory when it is inside it, else absolute."""
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path.resolve())


def _interactive(console: Console) -> bool:
    return console.is_terminal and not os.environ.get("CI")


@contextlib.contextmanager
def _progress(console: Console, cells: Sequence[Cell]) -> Iterator[tuple[Callable[..., None], ...]]:
    """Callbacks for run_matrix: a live spinner at a terminal, one line per cell always."""
    live = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not _interactive(console),
    )
    total = len(cells)
    width = max(len(cell.name) for cell in cells)
    task = live.add_task("starting", total=total)

    def started(index: int, cell: Cell) -> None:
        live.update(task, description=f"[{index + 1}/{total}] running {cell.name}")

    def finished(index: int, cell: Cell, row: Mapping[str, Any]) -> None:
        # soft_wrap: a long line wraps at the terminal's edge, not at rich's guess of it.
        live.console.print(format_cell_line(index, total, row, width), soft_wrap=True)
        live.advance(task)
        if index + 1 == total:
            live.update(task, description="writing the comparison's report")

    with live:
        yield started, finished


def _target(raw: str) -> tuple[Path, str]:
    """``FILE`` or ``FILE=pass|violation`` (the verdict that cell should get)."""
    path, sep, expect = raw.rpartition("=")
    return (Path(path), expect) if sep and expect in EXPECTS else (Path(raw), "pass")


@click.command("compare")
@click.option("--quick", is_flag=True, help="A fast matrix: 3,000 votes per cell (the demo).")
@click.option(
    "--builds",
    callback=_split(str, BUILDS),
    default=",".join(BUILDS),
    show_default=True,
    help="Builds to compare, comma-separated.",
)
@click.option(
    "--servers",
    callback=_split(str, SERVERS),
    default=defaults.SERVER,
    show_default=True,
    help=f"Servers, comma-separated ({', '.join(SERVERS)}).",
)
@click.option(
    "--threads", callback=_split(int), default=None, help="Server thread counts, e.g. 4,16."
)
@click.option(
    "--drivers",
    callback=_split(str, DRIVERS),
    default="requests",
    show_default=True,
    help="Load drivers, comma-separated.",
)
@click.option(
    "--race-windows",
    callback=_split(float),
    default=None,
    help="Race windows in seconds (unlocked build), e.g. 0,0.001; -1: a function call only.",
)
@click.option(
    "--preempt",
    "preempts",
    callback=_split(lambda word: word == "on", ("off", "on")),
    default=None,
    metavar="off,on",
    help="The --preempt axis, e.g. off,on [default: off; locked and naive also on].",
)
@click.option(
    "--clients",
    type=click.IntRange(min=1),
    default=defaults.CLIENTS,
    show_default=True,
    help="Clients per cell.",
)
@click.option(
    "--votes",
    type=click.IntRange(min=1),
    default=None,
    help="Votes per cell [default: 10,000; 3,000 with --quick].",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds of load per cell (instead of --votes).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Comparison directory [default: reports/<UTC timestamp>-compare/].",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="FILE[=pass|violation]",
    help="Compare target files instead of the reference builds (repeatable), each with the "
    "verdict it should get [default: pass]; [[reset]] runs before each cell.",
)
@replace_option
def command(
    quick: bool,
    builds: tuple[str, ...],
    servers: tuple[str, ...],
    threads: tuple[int, ...],
    drivers: tuple[str, ...],
    race_windows: tuple[float, ...],
    preempts: tuple[bool, ...],
    clients: int,
    votes: int | None,
    duration: float | None,
    out: Path | None,
    targets: tuple[str, ...],
    replace: bool,
) -> None:
    """Run the same workload against several builds (and servers, ...) and compare them.

    Each cell is an ordinary run with its own report; the comparison writes
    summary.json and index.html. Exit 0 when every cell got its expected
    verdict (unlocked FAIL, naive FAIL under --preempt, the rest PASS), 1 otherwise.

    \b
    racecheck compare --quick
    racecheck compare --servers waitress,gunicorn --race-windows 0,0.001
    racecheck compare --target likes_locked.toml --target likes_racy.toml=violation
    """
    invocation = "racecheck " + shlex.join(sys.argv[1:])

    def body() -> int:
        matrix = Matrix(
            builds=builds,
            servers=servers,
            threads=threads,
            drivers=drivers,
            race_windows=race_windows,
            preempts=preempts,
            clients=clients,
            votes=votes,
            duration=duration,
            quick=quick,
            targets=tuple(_target(t) for t in targets),
        )
        console = stdout_console()
        cells = matrix.cells()
        header = Text("racecheck compare", style="bold")
        header.append(f": {len(cells)} cells, {matrix.describe_load()} each\n  ")
        header.append(matrix.describe_cells())
        console.print(header, soft_wrap=True)
        with handle_signals(), _progress(console, cells) as (started, finished):
            comparison = run_matrix(
                matrix,
                out=out,
                command=invocation,
                on_start=started,
                on_done=finished,
                replace_out=replace,
            )
        for part in closing(comparison, comparison.directory):
            console.print(part, soft_wrap=isinstance(part, Text))
        return comparison.exit_code

    sys.exit(run_command(body))
