"""Invariants beyond counters, end to end: racy apps FAIL with witnesses, fixed twins PASS.

The apps live in tests/targets/invariants/ (their races need no help: file I/O, a
pause for a price lookup, a log write, a shared sqlite connection) and in
tests/targets/textbook/ (races the GIL hides, shown by --preempt). Each run is
re-checked from its directory by `racecheck check` to the same verdict.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import CliResult, racecheck

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TARGETS = Path(__file__).parent / "targets"
VOTES = "200"
SERVERS = ["werkzeug", "waitress"]

# app -> the check that must FAIL on its racy build (and PASS on its fixed twin).
APPS = {
    "tasks": "collections",
    "shop": "stock-conservation",
    "greet": "echo",
    "notes": "errors",
}
# Textbook apps whose race shows only under --preempt.
PREEMPTED = {
    "todos": "unique-ids",
    "ids_unique": "unique-ids",
    "stock": "oversell",
    "greeting": "echo",
}


def run(tmp_path: Path, target: Path, *args: str) -> CliResult:
    """``racecheck run --target FILE`` with 16 clients, then re-checked from its files."""
    out = tmp_path / "run"
    result = racecheck(
        "run", "--target", str(target), "--clients", "16", "--votes", VOTES, *args, out=out
    )
    again = racecheck("check", str(out))
    assert again.exit_code == result.exit_code, again.describe()
    assert f"verdict: {result.result()['verdict']}" in again.stdout, again.describe()
    return result


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("app", sorted(APPS))
def test_racy_app_fails_with_witnesses(tmp_path: Path, app: str, server: str) -> None:
    target = TARGETS / "invariants" / f"{app}_racy.toml"
    result = run(tmp_path, target, "--server", server)
    assert result.exit_code == 1, result.describe()
    check = result.check(APPS[app])
    assert check["status"] == "FAIL" and check["witnesses"], check
    assert result.result()["reason"]
    if app == "tasks":
        assert "acknowledged adds missing" in check["detail"]
        assert result.check("unique-ids")["status"] == "FAIL"
    # Counter checks do not speak about a history without counters.
    assert not any(c["name"] == "bounds" for c in result.result()["checks"])


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("app", sorted(APPS))
def test_fixed_twin_passes(tmp_path: Path, app: str, server: str) -> None:
    target = TARGETS / "invariants" / f"{app}_locked.toml"
    result = run(tmp_path, target, "--server", server)
    assert result.exit_code == 0, result.describe()
    assert result.check(APPS[app])["status"] == "PASS"


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("app", sorted(PREEMPTED))
def test_textbook_race_fails_under_preempt(tmp_path: Path, app: str, server: str) -> None:
    target = TARGETS / "textbook" / f"{app}_racy.toml"
    result = run(tmp_path, target, "--preempt", "--server", server)
    assert result.exit_code == 1, result.describe()
    check = result.check(PREEMPTED[app])
    assert check["status"] == "FAIL" and check["witnesses"], check


@pytest.mark.parametrize("app", sorted(PREEMPTED))
def test_textbook_locked_twin_passes_under_preempt(tmp_path: Path, app: str) -> None:
    target = TARGETS / "textbook" / f"{app}_locked.toml"
    result = run(tmp_path, target, "--preempt")
    assert result.exit_code == 0, result.describe()
    assert result.check(PREEMPTED[app])["status"] == "PASS"


def test_a_shared_sqlite_connection_described_as_a_counter_is_not_a_pass(tmp_path: Path) -> None:
    # The counter alone cannot tell (500s are unknown outcomes); calibration can.
    result = run(tmp_path, TARGETS / "invariants" / "notes_counter_racy.toml")
    assert result.exit_code == 1, result.describe()
    errors = result.check("errors")
    assert errors["status"] == "FAIL" and errors["witnesses"]
    assert any("transaction" in str(w.get("exception")) for w in errors["witnesses"])
    assert result.check("bounds")["status"] in ("PASS", "UNKNOWN")
