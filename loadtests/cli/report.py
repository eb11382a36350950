"""`racecheck report DIR`: re-render a run's (or a comparison's) index.html from its files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from loadtests.check.exitcodes import EXIT_PASS
from loadtests.cli.exits import handle_signals, run_command
from loadtests.errors import HistoryError, UsageError


def rerender(directory: Path) -> list[Path]:
    """Render the pages of a run directory, or of a comparison and each of its cells."""
    from loadtests.report import render_comparison, render_run

    if not directory.is_dir():
        raise UsageError(f"{directory} is not a directory; pass a run or comparison directory")
    summary_path = directory / "summary.json"
    if not summary_path.is_file():
        return [render_run(directory)]
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{summary_path} is not valid JSON: {exc}") from exc
    cells = [cell_dir(directory, str(row.get("run_dir"))) for row in summary.get("cells") or ()]
    pages = [render_run(cell) for cell in cells if (cell / "result.json").is_file()]
    pages.append(render_comparison(directory, summary))
    return pages


def cell_dir(comparison: Path, run_dir: str) -> Path:
    """A cell's run directory, which must lie inside the comparison's folder.

    summary.json is a file anyone may have edited: a ``run_dir`` of ``../../x`` or
    ``/etc`` would otherwise have racecheck read and write pages wherever it points.
    """
    root = comparison.resolve()
    cell = (comparison / run_dir).resolve()
    if not cell.is_relative_to(root) or cell == root:
        raise UsageError(
            f"{comparison / 'summary.json'} names the cell folder {run_dir!r}, which is not"
            f" inside {comparison}; racecheck only renders a comparison's own cells."
            " Fix its run_dir or re-run the comparison"
        )
    return cell


@click.command("report")
@click.argument("directory", type=click.Path(path_type=Path), metavar="RUN_DIR")
def command(directory: Path) -> None:
    """Re-render index.html of a saved run (or of a comparison and its cells).

    \b
    racecheck report reports/20250101T120000.000000Z-unlocked-waitress-requests
    """

    def body() -> int:
        with handle_signals():
            try:
                pages = rerender(directory)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                # A result.json whose shape passed but whose values cannot be drawn.
                raise UsageError(
                    f"{directory}: a value in result.json cannot be drawn ({type(exc).__name__}: "
                    f"{str(exc)[:120]}); was it edited? restore it, or run again"
                ) from exc
        for page in pages:
            click.echo(f"wrote {page}")
        return EXIT_PASS

    sys.exit(run_command(body))
