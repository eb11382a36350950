"""Every racecheck command in README.md and docs/*.md runs, small, and exits as documented.

The commands are read from the fenced code blocks (``sh``, ``console`` with its ``$``
prompt, a CI ``yaml`` step's ``run:``, and bare blocks); a line is a command when
``racecheck`` is followed by one of its subcommands (``racecheck verdict: ...`` is
output). Each one must have a decision here, either:

* ``RUN``: its exit code (what the doc says, or what its run shows), run with sizes
  shrunk (``--votes`` to at most ``MAX_VOTES``, ``--duration`` to at most
  ``MAX_DURATION`` unless a fault schedule needs the time) and ``--out`` in tmp_path;
  placeholders (``reports/<run>``, a reader's own ``likes.toml``) become real files;
* ``EXCLUDED``: not run, with the reason (long benches, servers that run until
  Ctrl-C, matrices of many cells).

A new command in the docs without a decision fails ``test_every_command_has_a_decision``,
so nothing is left out silently. Where the doc's comment names a verdict or an exit
code, ``test_the_docs_comments_agree_with_the_decisions`` holds the two equal.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.cli import racecheck

from loadtests.target import apache

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
SUBCOMMANDS = ("run", "check", "compare", "serve", "locust", "report", "bench")
MAX_VOTES = 300
MAX_DURATION = 3.0
TARGETS = "tests/targets"


@dataclass(frozen=True)
class Found:
    """One command as a doc writes it, and where."""

    command: str  # normalised: one space between words, no comment
    comment: str
    where: str


def _command_lines(text: str) -> list[tuple[str, str]]:
    """(line, comment) of each line in a fenced block that runs a racecheck subcommand."""
    found = []
    for block in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
        for raw in block.group(2).splitlines():
            line = raw.strip()
            line = line.removeprefix("$ ").removeprefix("- run: ")
            code, _, comment = line.partition("#")
            words = code.split()
            if len(words) >= 2 and words[0] == "racecheck" and words[1] in SUBCOMMANDS:
                found.append((" ".join(words), comment.strip()))
    return found


def documented() -> list[Found]:
    """Every racecheck command in README.md and docs/*.md."""
    return [
        Found(command, comment, f"{path.relative_to(ROOT)}")
        for path in DOCS
        for command, comment in _command_lines(path.read_text(encoding="utf-8"))
    ]


@dataclass(frozen=True)
class Run:
    """Run it; ``exit`` is the documented exit code."""

    exit: int
    apache: bool = False  # needs Apache httpd with mod_wsgi


# The run that `racecheck check/report reports/<run>` re-read, and the comparison.
RUN_PLACEHOLDER = "reports/<run>"
COMPARISON_PLACEHOLDER = "reports/<comparison>"
# A reader's own target files, in the docs' examples: the suite's racy and locked twins.
FILES = {
    "likes.toml": f"{TARGETS}/likes_racy.toml",
    "racecheck.toml": f"{TARGETS}/likes_locked.toml",
}

RUN: dict[str, Run] = {
    # README: the GIL hides the naive build's race; --preempt exposes it.
    "racecheck run --build naive --votes 2000": Run(0),
    "racecheck run --build naive --votes 2000 --preempt": Run(1),
    "racecheck run --build unlocked --server waitress --clients 32 --votes 3000": Run(1),
    "racecheck run --build unlocked --votes 3000 --expect violation": Run(0),
    # The CI one-liner, as written: no size at all (the default size).
    "racecheck run --build unlocked --expect violation": Run(0),
    # reports/<run> is the unlocked cell of a comparison, which expected its FAIL: exit 0.
    "racecheck check reports/<run>": Run(0),
    "racecheck report reports/<run>": Run(0),
    "racecheck report reports/<comparison>": Run(0),
    "racecheck compare --builds locked,unlocked --threads 4,16 --duration 10": Run(0),
    "racecheck run --target tests/targets/likes_racy.toml --votes 2000": Run(1),
    "racecheck run --target likes.toml --server gunicorn --threads 8 --clients 32 --votes 3000": (
        Run(1)
    ),
    "racecheck run --target likes.toml --clients 32 --votes 3000": Run(1),
    "racecheck run --target likes.toml --clients 32 --votes 1000": Run(1),
    "racecheck run --target racecheck.toml --driver locust --processes 2 --clients 32 "
    "--votes 20000": Run(0),
    "racecheck run --build locked --server gunicorn --driver locust --processes 2 --clients 20 "
    "--duration 8": Run(0),
    "racecheck run --build locked --driver locust --processes 2 --clients 20 --duration 8": Run(0),
    "racecheck run --build unlocked --driver locust --clients 16 --votes 5000": Run(1),
    # docs/faults.md, as written: the faults need their seconds (about 35 s in all).
    "racecheck run --build locked --server waitress --duration 12 --nemesis kill-restart": Run(3),
    "racecheck run --build locked --votes 3000 --nemesis stall": Run(0),
    "racecheck run --build locked --duration 6 --nemesis reset-connections --nemesis-schedule "
    "at=1,every=2,duration=0.5": Run(0),
    # Apache (README and docs/apache.md): run where Apache with mod_wsgi is installed.
    "racecheck run --server apache --build locked --workers 2 --votes 2000": Run(1, apache=True),
    "racecheck run --server apache --build locked --threads 8 --votes 2000": Run(0, apache=True),
    "racecheck run --server apache --build unlocked --threads 8 --votes 2000": Run(1, apache=True),
    "racecheck run --server apache --build sqlite --workers 2 --votes 2000": Run(0, apache=True),
    "racecheck run --target tests/targets/apache_recycled.toml --votes 1000": Run(3, apache=True),
}

EXCLUDED: dict[str, str] = {
    "racecheck serve --build unlocked --server waitress --threads 16 --port 0": (
        "serves until Ctrl-C; tests/test_cli_serve.py starts and stops it"
    ),
    "racecheck serve --build unlocked --server waitress --port 8000 &": (
        "a server in the background on a fixed port, for a plain locust command after it "
        "(multi-step instructions); tests/test_cli_serve.py covers serve"
    ),
    "racecheck locust --build locked --server gunicorn": (
        "the Locust web UI runs until stopped in a browser; tests/test_browser_tally.py drives it"
    ),
    "racecheck locust --build unlocked --server gunicorn --threads 16": (
        "the Locust web UI, as above: tests/test_browser_tally.py"
    ),
    "racecheck locust --web-port 0 --processes 2 -- --stop-timeout 5": (
        "the Locust web UI, as above: tests/test_browser_tally.py"
    ),
    "racecheck compare --quick": (
        "the demo; tests/test_compare.py::test_quick_compare_end_to_end runs it as written and "
        "checks its exit code, every cell's verdict and the report"
    ),
    "racecheck bench --quick": "a benchmark of about 2 minutes; tests/test_bench.py runs its parts",
    "racecheck bench --only checker": (
        "a benchmark (10^7 operations through the checker); tests/test_bench.py runs it small"
    ),
    "racecheck bench --only detect --only preempt": (
        "a benchmark of many runs per scenario; tests/test_bench_detect.py and "
        "tests/test_bench_preempt.py run it small"
    ),
    "racecheck compare --servers werkzeug,waitress,gunicorn,apache --votes 1000": (
        "a matrix of about 24 cells on four servers (minutes); compare --quick runs the same "
        "code here and tests/test_apache.py the Apache cells"
    ),
    "racecheck compare --servers waitress,werkzeug,gunicorn --race-windows 0,0.001": (
        "a matrix of about 20 cells (minutes); compare --quick and the --builds/--threads "
        "comparison above run the same code"
    ),
    "racecheck run --target myapp.toml --preempt": (
        "a placeholder for the reader's own app; --preempt on a target file is run by "
        "tests/test_preempt_e2e.py"
    ),
}


def shrunk(command: str) -> list[str]:
    """The command's arguments (after ``racecheck``), sizes capped, files made real."""
    words = shlex.split(command)[1:]
    faults = "--nemesis" in words  # a fault schedule needs the run's seconds
    out: list[str] = []
    for i, word in enumerate(words):
        before = words[i - 1] if i else ""
        value = word
        if before == "--votes":
            value = str(min(int(word), MAX_VOTES))
        elif before == "--duration" and not faults:
            value = f"{min(float(word), MAX_DURATION):g}"
        out.append(FILES.get(value, value))
    return out


def test_every_command_has_a_decision() -> None:
    commands = {found.command for found in documented()}
    assert len(commands) >= 30  # the reader found them
    undecided = sorted(commands - RUN.keys() - EXCLUDED.keys())
    assert undecided == [], "add each to RUN (with its exit code) or EXCLUDED (with why)"
    stale = sorted((RUN.keys() | EXCLUDED.keys()) - commands)
    assert stale == [], "no longer in the docs: remove from RUN/EXCLUDED"


_SAYS = {"PASS": 0, "FAIL": 1, "UNKNOWN": 3, "exit 0": 0, "exit 1": 1, "exit 3": 3}


def test_the_docs_comments_agree_with_the_decisions() -> None:
    for found in documented():
        said = [code for word, code in _SAYS.items() if re.search(rf"\b{word}\b", found.comment)]
        if said and found.command in RUN:
            assert RUN[found.command].exit == said[0], f"{found.where}: {found.command}"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A comparison of two cells to re-check and re-render: reports/<run> is its unlocked cell."""
    out = tmp_path_factory.mktemp("saved") / "comparison"
    done = racecheck("compare", "--builds", "locked,unlocked", "--votes", "200", out=out)
    assert done.exit_code == 0, done.describe()
    (unlocked,) = [d for d in out.iterdir() if d.name.startswith("unlocked")]
    return {RUN_PLACEHOLDER: unlocked, COMPARISON_PLACEHOLDER: out}


def _apache_ready() -> None:
    problem = apache.missing()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the Apache commands, but: {problem}")
    pytest.skip(f"Apache with mod_wsgi is not usable here: {problem}")


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(RUN), ids=sorted(RUN))
def test_the_documented_command_exits_as_documented(
    command: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    decision = RUN[command]
    if decision.apache:
        _apache_ready()
    args = shrunk(command)
    placeholders = {RUN_PLACEHOLDER, COMPARISON_PLACEHOLDER} & set(args)
    if placeholders:
        saved: dict[str, Path] = request.getfixturevalue("saved")
        args = [str(saved[a]) if a in placeholders else a for a in args]
    out = tmp_path / "out" if args[0] in ("run", "compare") else None
    done = racecheck(*args, out=out, cwd=ROOT, timeout=240)
    assert done.exit_code == decision.exit, done.describe()
