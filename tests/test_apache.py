"""Apache httpd + mod_wsgi as the fourth server: the same verdicts as every other server.

The end-to-end tests need apache2 (and apache2-dev, to build mod_wsgi) from apt and
mod_wsgi from PyPI (``pip install -e '.[apache]'``); run as root, www-data must be able
to read Python, the venv and the checkout. Outside CI they skip with the reason; in
CI (CI=true) a missing piece fails them, so the suite cannot go green without Apache.
Every command goes through ``support.cli.racecheck``, which fails when any process it
started (Apache's children included) is left running.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from support.cli import CliResult, racecheck

from loadtests import defaults
from loadtests.check.checker import CheckSettings, FinalState, check
from loadtests.errors import TargetFileError, UsageError
from loadtests.history import Op
from loadtests.run.compare import Matrix
from loadtests.target import apache, targetfile
from loadtests.target.launcher import TargetSpec
from loadtests.target.preempt import Preempt

TARGETS = Path(__file__).parent / "targets"
# Small runs (the brief: at most 2,000 votes); 16 clients on 8 threads per process.
LOAD = ("--server", "apache", "--threads", "8", "--clients", "16", "--votes", "1000")


def _apache_problem() -> str | None:
    """Why Apache cannot serve here, or None."""
    problem = apache.missing()
    if problem is not None:
        return problem
    try:
        user = apache.run_as()
        if user is not None:
            apache.check_readable(user[0], [str(Path(__file__).parent.parent)])
    except UsageError as exc:
        return str(exc)
    return None


@pytest.fixture
def apache_ready() -> None:
    """Skip (fail in CI) when Apache with mod_wsgi cannot run on this machine."""
    problem = _apache_problem()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the Apache tests, but: {problem}\n(.ci/run installs it)")
    pytest.skip(f"Apache with mod_wsgi is not usable here: {problem}")


def run(tmp_path: Path, *args: str) -> CliResult:
    """``racecheck run`` under Apache; nothing may be left running afterwards."""
    return racecheck("run", *args, out=tmp_path / "run")


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.usefixtures("apache_ready")
def test_locked_passes(tmp_path: Path) -> None:
    result = run(tmp_path, *LOAD, "--build", "locked")
    assert result.exit_code == 0, result.describe()
    assert result.result()["verdict"] == "PASS"
    assert result.check("split-state")["status"] == "PASS"


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.usefixtures("apache_ready")
def test_unlocked_fails_with_witnesses(tmp_path: Path) -> None:
    result = run(tmp_path, *LOAD, "--build", "unlocked", "--expect", "violation")
    assert result.exit_code == 0, result.describe()  # the expected violation
    assert result.result()["verdict"] == "FAIL"
    failed = [c for c in result.result()["checks"] if c["status"] == "FAIL"]
    assert failed and all(c["witnesses"] for c in failed), failed


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.usefixtures("apache_ready")
def test_two_daemon_processes_split_the_state(tmp_path: Path) -> None:
    result = run(tmp_path, *LOAD, "--build", "locked", "--workers", "2")
    assert result.exit_code == 1, result.describe()
    split = result.check("split-state")
    assert split["status"] == "FAIL"
    pids = [w["pid"] for w in split["witnesses"]]
    assert len(pids) == 2
    assert all(str(pid) in split["detail"] for pid in pids)


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.usefixtures("apache_ready")
def test_recycled_processes_are_named_as_restarts(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        "--target",
        str(TARGETS / "apache_recycled.toml"),
        "--clients",
        "16",
        "--votes",
        "1000",
    )
    assert result.exit_code == 3, result.describe()  # UNKNOWN, never FAIL nor PASS
    recycle = result.check("recycle")
    assert recycle["status"] == "UNKNOWN"
    assert "recycled after 100 requests" in recycle["detail"]
    # mod_wsgi recycles gracefully, when it gets to it: mid-run (several pids answered,
    # each a witness) or only after the last vote (one pid, and the final read, which
    # names no process, may be the successor's).
    pids = [w["pid"] for w in recycle["witnesses"]]
    assert all(str(pid) in recycle["detail"] for pid in pids)
    assert len(pids) > 1 or "does not say which process answered it" in recycle["detail"]
    assert result.check("split-state")["status"] != "FAIL"
    assert result.result()["reason"] == recycle["detail"]


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.usefixtures("apache_ready")
def test_sqlite_with_two_processes_passes(tmp_path: Path) -> None:
    result = run(tmp_path, *LOAD, "--build", "sqlite", "--workers", "2")
    assert result.exit_code == 0, result.describe()
    assert result.result()["verdict"] == "PASS"
    assert result.check("split-state")["status"] == "PASS"


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.usefixtures("apache_ready")
def test_kill_restart_reaches_apache(tmp_path: Path) -> None:
    # Early and once, so that it strikes within a small run's second or two of load.
    nemesis = ("--nemesis", "kill-restart", "--nemesis-schedule", "at=0.3,count=1")
    result = run(tmp_path, *LOAD, "--build", "locked", *nemesis)
    assert result.exit_code == 3, result.describe()  # in-memory state lost: UNKNOWN
    assert result.check("restart")["status"] == "UNKNOWN"
    assert any(op["process"] == "nemesis" for op in result.history())


# Without Apache: the refusals, which need nothing installed.


def test_a_missing_install_is_a_usage_error_naming_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(apache.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UsageError, match="apt-get install -y apache2 apache2-dev") as caught:
        TargetSpec(server="apache")
    assert "pip install mod_wsgi" in str(caught.value)


def test_maximum_requests_needs_apache() -> None:
    with pytest.raises(UsageError, match="needs --server apache"):
        TargetSpec(server="waitress", maximum_requests=10)


def test_preempt_is_refused_under_apache_not_run_unpreempted() -> None:
    """mod_wsgi's daemon threads are made in C: the tracer never reached them, and a naive
    app PASSed "under forced switches" that never happened. Refused before anything starts."""
    for spec in (
        {"preempt": Preempt(rate=1.0)},
        {"env": Preempt(rate=1.0).env()},  # the bench sets it by environment
    ):
        with pytest.raises(UsageError, match="--preempt does not reach apache"):
            TargetSpec(server="apache", **spec)  # type: ignore[arg-type]


def test_a_comparison_runs_no_preempt_cell_under_apache() -> None:
    cells = Matrix(servers=("waitress", "apache"), builds=("locked", "naive")).cells()
    preempted = {(c.build, c.server) for c in cells if c.preempt}
    assert preempted == {("locked", "waitress"), ("naive", "waitress")}
    with pytest.raises(UsageError, match="does not reach apache"):
        Matrix(servers=("apache",), preempts=(True,))


def test_several_workers_need_a_multiprocess_server() -> None:
    with pytest.raises(UsageError, match="gunicorn or apache"):
        TargetSpec(server="waitress", workers=2)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can ask as another user")
def test_an_unreadable_folder_is_named_with_the_fix() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch).chmod(0o755)  # made 0700; only the folder below is to be closed
        closed = Path(scratch) / "closed"
        (closed / "app").mkdir(parents=True)
        closed.chmod(0o700)
        assert apache.unreadable_path(defaults.APACHE_USER, [closed / "app"]) == closed
        with pytest.raises(UsageError, match=f"setfacl -m u:{defaults.APACHE_USER}:x {closed}"):
            apache.check_readable(defaults.APACHE_USER, [str(closed / "app")])


def _votes(pids: list[int]) -> list[Op]:
    """One acknowledged YES vote per pid, in turn, each process counting from 1."""
    ops: list[Op] = []
    for n, pid in enumerate(pids):
        vote_id = f"v{n}"
        ops.append(Op(2 * n, n, "invoke", "vote", {"choice": "yes"}, 10 * n, vote_id))
        value = {"choice": "yes", "count": 1, "pid": pid, "resolution_id": 1}
        ops.append(Op(2 * n + 1, n, "ok", "vote", value, 10 * n + 5, vote_id))
    return ops


def test_recycled_processes_are_unknown_and_named_not_a_split() -> None:
    final = FinalState({"yes": 1}, 1, 100, (303,))
    settings = CheckSettings(choices=("yes",), recycle_after=1)
    verdict = check(_votes([301, 302, 303]), final, settings)
    assert verdict.status == "UNKNOWN"
    recycle = verdict.check("recycle")
    assert recycle.status == "UNKNOWN"
    assert "recycled after 1 requests" in recycle.detail and "301, 302, 303" in recycle.detail
    assert verdict.check("split-state").status == "UNKNOWN"
    assert verdict.check("bounds").status == "UNKNOWN"
    assert verdict.reason == recycle.detail


def test_a_recycle_after_the_last_vote_is_unknown_not_a_loss() -> None:
    """One pid answered every vote; the final read, naming no process, found 0."""
    settings = CheckSettings(choices=("yes",), recycle_after=100)
    ops = _votes([301, 301, 301])
    for n, op in enumerate(ops[1::2], start=1):  # one process counting 1, 2, 3
        op.value["count"] = n
    verdict = check(ops, FinalState({"yes": 0}, 1, 100), settings)
    assert verdict.status == "UNKNOWN"
    recycle = verdict.check("recycle")
    assert "does not say which process answered it" in recycle.detail
    assert "pid 301 answered every vote" in recycle.detail
    assert verdict.check("bounds").status == "UNKNOWN"
    # The same read naming the process that took the votes: the loss is proven.
    named = check(ops, FinalState({"yes": 0}, 1, 100, (301,)), settings)
    assert named.status == "FAIL" and named.check("bounds").status == "FAIL"


def test_without_recycling_the_same_history_is_a_split() -> None:
    final = FinalState({"yes": 1}, 1, 100, (303,))
    verdict = check(_votes([301, 302, 303]), final, CheckSettings(choices=("yes",)))
    assert verdict.status == "FAIL"
    assert verdict.check("split-state").status == "FAIL"
    assert all(r.name != "recycle" for r in verdict.checks)


def test_a_target_file_sets_maximum_requests_for_apache_only(tmp_path: Path) -> None:
    assert targetfile.load(TARGETS / "apache_recycled.toml").maximum_requests == 100
    path = tmp_path / "t.toml"
    path.write_text(
        '[target]\napp = "likes:create_app"\nserver = "waitress"\nmaximum_requests = 5\n'
        '[[counters]]\nname = "a"\nincrement = { path = "/like/a" }\n'
        'read = { path = "/likes", json = "a" }\n'
    )
    with pytest.raises(TargetFileError, match=r"target\.maximum_requests: .*apache"):
        targetfile.load(path)
