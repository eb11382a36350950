"""racecheck's pytest plugin: prove your Flask app thread-safe from your own test suite.

Installed with racecheck (entry point ``pytest11``), so these fixtures are
available in any test without an import::

    def test_likes_are_never_lost(racecheck_run):
        outcome = racecheck_run(target_file=Path("likes.toml"), clients=16, votes=2000)
        assert_verdict(outcome, "PASS")

    def test_the_reference_app_under_gunicorn(racecheck_target, racecheck_run):
        target = racecheck_target(build="locked", server="gunicorn", threads=8)
        assert_verdict(racecheck_run(target_url=target.url, votes=1000), "PASS")

``racecheck_run`` takes the options of ``racecheck run`` (as RunSettings
fields: ``build``, ``server``, ``driver``, ``clients``, ``votes`` or
``duration`` (neither: the CLI's default size), ``app``, ``target_file``,
``target_url``, ``expect``...) and writes each run directory under the test's
tmp_path, or under ``--racecheck-out DIR`` to keep them (e.g. as CI artifacts).
An unknown keyword or a bad value raises :class:`RacecheckRunError`, phrased
in keywords, not in CLI flags.

This module is loaded into every pytest session: it imports nothing heavy at
the top (and never locust).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from loadtests import defaults
from loadtests.defaults import ServerName

if TYPE_CHECKING:
    from loadtests.run.execute import RunOutcome
    from loadtests.run.settings import RunSettings
    from loadtests.target.launcher import RunningTarget, TargetSpec
    from loadtests.target.preempt import Preempt

__all__ = ["RacecheckRunError", "assert_verdict"]

# What assert_verdict accepts, case-insensitive: the verdicts, and the CLI's --expect words
# (pass is PASS, violation is FAIL: the race proven).
_VERDICTS = ("PASS", "FAIL", "UNKNOWN", "ERROR")
_EXPECT_WORDS = {"pass": "PASS", "violation": "FAIL"}
# The fields of RunSettings that the plugin fills itself or that only the CLI sets.
_INTERNAL = frozenset({"command", "progress"})
# CLI flags whose keyword is not the flag's name with underscores.
_FLAG_KEYWORDS = {"target": "target_file"}


class RacecheckRunError(ValueError):
    """racecheck_run or assert_verdict was given a keyword or value it cannot use."""


def _keywords_of(message: str) -> str:
    """A settings error phrased in keywords: ``--votes N`` is ``votes=N``, ``--app`` is ``app``."""

    def keyword(match: re.Match[str]) -> str:
        name = match.group(1)
        name = _FLAG_KEYWORDS.get(name, name.replace("-", "_"))
        return f"{name}={match.group(2)}" if match.group(2) else name

    return re.sub(r"--([a-z][a-z-]*)(?: ([A-Z]+)\b)?", keyword, message)


def _expected_status(expected: str) -> str:
    """The verdict that ``expected`` names (PASS, FAIL, ... or pass/violation), any case."""
    word = expected.strip()
    if word.upper() in _VERDICTS:
        return word.upper()
    if word.lower() in _EXPECT_WORDS:
        return _EXPECT_WORDS[word.lower()]
    raise RacecheckRunError(
        f"assert_verdict: unknown verdict {expected!r}; give one of "
        f"{', '.join(_VERDICTS)} or, as --expect spells them, {' or '.join(_EXPECT_WORDS)} "
        "(any case)"
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    """--racecheck-out: where the fixtures' run directories go."""
    group = parser.getgroup("racecheck")
    group.addoption(
        "--racecheck-out",
        default=None,
        metavar="DIR",
        help="keep racecheck run directories under DIR (default: each test's tmp_path)",
    )


def assert_verdict(outcome: RunOutcome, expected: str = "PASS") -> None:
    """Fail, with the reason, each check and the run directory, unless the verdict is expected.

    ``expected`` is a verdict (PASS, FAIL, UNKNOWN, ERROR) or a word of the CLI's
    ``--expect`` (pass, violation), in any case.
    """
    expected = _expected_status(expected)
    verdict = outcome.verdict
    if verdict.status == expected:
        return
    checks = "\n".join(f"  {c.status:<7} {c.name}: {c.detail}" for c in verdict.checks)
    raise AssertionError(
        f"racecheck verdict {verdict.status}, expected {expected}: {verdict.reason}\n"
        f"{checks}\nrun directory: {outcome.run_dir}"
    )


def _run_root(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    out = request.config.getoption("--racecheck-out", None)
    if out is None:
        return tmp_path / "racecheck"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.nodeid).strip("-")
    return Path(out) / name


@pytest.fixture
def racecheck_target(tmp_path: Path) -> Iterator[Callable[..., RunningTarget]]:
    """A factory that starts a target under a real server; every one is stopped after the test.

    Keywords: ``build`` (reference app: locked, unlocked, sqlite), ``app``
    ("module:factory" for your own app), ``server`` (werkzeug, waitress,
    gunicorn), ``threads``, ``workers``, ``env``, ``race_window``, ``preempt``
    (forced thread switches in the app's code; a float is the rate per opcode),
    ``pythonpath``, ``health_path`` (default: /health for the reference app,
    else ready once "/" answers at all), ``ready_timeout``; or ``target_file``, a target
    file whose app is hosted as ``racecheck run --target`` would (after its [[reset]]
    commands; ``env`` is added to the file's). ``racecheck_run(target_file=...)`` runs one.
    """
    from loadtests.defaults import REFERENCE_APP
    from loadtests.target.launcher import TargetSpec, start_target

    with ExitStack() as stack:
        count = 0

        def start(
            *,
            build: str | None = None,
            app: str | None = None,
            server: ServerName = defaults.SERVER,
            threads: int = defaults.THREADS,
            workers: int = 1,
            env: Mapping[str, str] | None = None,
            race_window: float | None = None,
            preempt: bool | float = False,
            pythonpath: tuple[str, ...] = (),
            health_path: str | None = None,
            ready_timeout: float = 60.0,
            target_file: Path | str | None = None,
        ) -> RunningTarget:
            nonlocal count
            count += 1
            variables = dict(env or {})
            if race_window is not None:
                variables["RACECHECK_RACE_WINDOW"] = repr(race_window)
            reference = app in (None, REFERENCE_APP)
            log = tmp_path / f"racecheck-target-{count}.log"
            if target_file is not None:
                spec = _file_spec(Path(target_file), variables, _preemption(preempt))
                return stack.enter_context(
                    start_target(spec, ready_timeout=ready_timeout, log_path=log)
                )
            spec = TargetSpec(
                server=server,
                threads=threads,
                workers=workers,
                app=app or REFERENCE_APP,
                build=(build or "locked") if reference else build,
                env=variables,
                pythonpath=pythonpath,
                # Apps nobody here wrote may have no /health: then "/" answering is enough.
                health_path=health_path or ("/health" if reference else None),
                preempt=_preemption(preempt),
            )
            return stack.enter_context(
                start_target(spec, ready_timeout=ready_timeout, log_path=log)
            )

        yield start


def _file_spec(path: Path, env: Mapping[str, str], preempt: Preempt | None) -> TargetSpec:
    """A target file's app, as `racecheck run --target` hosts it, after its reset commands."""
    from loadtests.run.plan import file_spec
    from loadtests.run.reset import run_commands
    from loadtests.target import targetfile

    tf = targetfile.load(path)
    run_commands(tf.reset_commands, tf.path.resolve().parent)
    return file_spec(tf, env=env, preempt=preempt)


def _preemption(preempt: bool | float) -> Preempt | None:
    """``preempt=True`` (every opcode) or a rate per opcode; False: off."""
    from loadtests.target.preempt import Preempt

    if preempt is False:
        return None
    return Preempt() if preempt is True else Preempt(rate=float(preempt))


@pytest.fixture
def racecheck_run(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., RunOutcome]:
    """A function that does one run (``racecheck run``'s options) and returns its outcome."""
    from loadtests.run.execute import execute

    root = _run_root(request, tmp_path)
    count = 0

    def run(**settings: Any) -> RunOutcome:
        nonlocal count
        count += 1
        settings.setdefault("progress", False)
        if "out" not in settings:
            settings["out"] = root / f"run-{count}"
            # The same test run again (--racecheck-out kept) redoes its own folder.
            settings.setdefault("replace", True)
        settings.setdefault("command", f"pytest {request.node.nodeid}")
        return execute(_settings(settings))

    return run


def _settings(keywords: Mapping[str, Any]) -> RunSettings:
    """RunSettings from racecheck_run's keywords; errors name keywords, not CLI flags."""
    from loadtests.errors import UsageError
    from loadtests.run.settings import RunSettings

    fields = {f.name for f in dataclasses.fields(RunSettings)}
    unknown = sorted(set(keywords) - fields)
    if unknown:
        valid = ", ".join(sorted(fields - _INTERNAL))
        raise RacecheckRunError(
            f"racecheck_run: unknown keyword {', '.join(map(repr, unknown))}; "
            f"valid keywords: {valid}"
        )
    try:
        return RunSettings(**keywords)
    except UsageError as exc:
        raise RacecheckRunError(f"racecheck_run: {_keywords_of(str(exc))}") from None
