"""`racecheck run --clients 1` cannot race: the verdict says so (UNKNOWN, exit 3), never PASS."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import racecheck

from loadtests.check.exitcodes import EXIT_UNKNOWN

pytestmark = [pytest.mark.e2e]


def test_one_client_on_the_unlocked_build_is_unknown_not_pass(tmp_path: Path) -> None:
    run = racecheck("run", "--build", "unlocked", "--clients", "1", "--votes", "60", out=tmp_path)
    assert run.exit_code == EXIT_UNKNOWN, run.describe()
    result = run.result()
    assert result["verdict"] == "UNKNOWN"
    assert run.check("bounds")["status"] == "PASS"  # nothing lost: and nothing could be
    concurrency = run.check("concurrency")
    assert concurrency["status"] == "UNKNOWN"
    assert "no two of the 60 votes were ever in flight at the same moment" in result["reason"]
