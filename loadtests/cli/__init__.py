"""racecheck's command line: parse, wire, and map outcomes to exit codes in one place.

Each subcommand lives in its own module under ``loadtests.cli`` and only parses
options and calls into the harness; nothing here performs load or checks.
"""

from __future__ import annotations

import click

from loadtests import __version__
from loadtests.cli.exits import run_command


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="racecheck")
def main() -> None:
    """Test whether a Flask app is thread-safe under real load; prove it when it is not.

    A FAIL is proof (the votes that collided, as witnesses); a PASS is evidence
    under the load that was run, not proof of thread-safety.

    Exit codes: 0 PASS (or the expected outcome), 1 FAIL, 2 usage error,
    3 UNKNOWN, 4 ERROR.
    """


def _register() -> None:
    # One module per subcommand, each exposing `command` (run.py has two).
    # Subcommand modules defer their heavy imports (matplotlib, playwright)
    # into their bodies, so `racecheck --help` stays fast.
    from loadtests.cli import bench, compare, locust, report, run, serve

    for command in (
        serve.command,
        run.run_cmd,
        run.check_cmd,
        compare.command,
        locust.command,
        report.command,
        bench.command,
    ):
        main.add_command(command)


_register()

__all__ = ["main", "run_command"]
