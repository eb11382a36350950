"""The pytest plugin from outside: loaded by its entry point, cheap to import, clear on failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loadtests.swarm.driver import locust_env

pytest_plugins = ["pytester"]


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    """It is loaded into every pytest session: no harness, no requests, never locust."""
    script = (
        "import sys, loadtests.pytest_plugin\n"
        "heavy = ('loadtests.run.execute', 'loadtests.target.launcher', 'locust', 'gevent',"
        " 'requests', 'matplotlib', 'flask')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=locust_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "[]"


def test_the_entry_point_provides_the_fixtures(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        ["*fixtures defined from loadtests.pytest_plugin*", "racecheck_run*"]
    )
    result.stdout.fnmatch_lines(["racecheck_target*"])


@pytest.mark.e2e
def test_a_failed_verdict_says_why_and_where(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(
        """
        from loadtests.pytest_plugin import assert_verdict

        def test_unlocked_is_thread_safe(racecheck_run):
            outcome = racecheck_run(build="unlocked", clients=16, votes=1500)
            assert_verdict(outcome, "PASS")
        """
    )
    out = tmp_path / "kept"
    # A subprocess: an in-process run would unload numpy (pytester restores sys.modules).
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--racecheck-out={out}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*racecheck verdict FAIL, expected PASS: *missing from the final tally*",
            "*FAIL*bounds:*",
            "*run directory: *kept*",
        ]
    )
    (kept,) = out.glob("*/run-1/result.json")
    assert kept.is_file()
