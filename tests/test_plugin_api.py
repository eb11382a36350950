"""The pytest plugin reads like a Python API: default size, keyword errors, --expect's words."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from loadtests import defaults
from loadtests.check.verdict import CheckResult, Verdict
from loadtests.pytest_plugin import RacecheckRunError, assert_verdict
from loadtests.run.execute import RunOutcome


def outcome(status: str) -> RunOutcome:
    """A run's outcome without a run: only its verdict matters to assert_verdict."""
    check = CheckResult("bounds", status, "hand-made")
    return RunOutcome(
        Verdict(status, (check,), {}, None, status == "PASS", "hand-made"), Path("x"), 0
    )


@pytest.mark.parametrize("word", ["pass", "PASS", "Pass", " pass "])
def test_assert_verdict_takes_pass_in_any_case(word: str) -> None:
    assert_verdict(outcome("PASS"), word)


@pytest.mark.parametrize("word", ["violation", "VIOLATION", "fail", "FAIL"])
def test_violation_as_the_cli_spells_it_means_a_proven_race(word: str) -> None:
    assert_verdict(outcome("FAIL"), word)
    with pytest.raises(AssertionError, match="racecheck verdict PASS, expected FAIL"):
        assert_verdict(outcome("PASS"), word)


def test_an_unknown_verdict_word_is_its_own_error_naming_the_valid_ones() -> None:
    with pytest.raises(RacecheckRunError, match=r"unknown verdict 'passed'.*PASS, FAIL.*violation"):
        assert_verdict(outcome("PASS"), "passed")


def test_a_wrong_keyword_names_the_valid_keywords(racecheck_run: Callable[..., RunOutcome]) -> None:
    with pytest.raises(RacecheckRunError, match=r"unknown keyword 'bild'; valid keywords: .*build"):
        racecheck_run(bild="locked")


def test_conflicting_options_are_phrased_as_keywords(
    racecheck_run: Callable[..., RunOutcome],
) -> None:
    with pytest.raises(RacecheckRunError) as caught:
        racecheck_run(build="locked", votes=10, duration=1.0)
    assert "votes=N or duration=SECONDS" in str(caught.value)
    assert "--" not in str(caught.value)


@pytest.mark.e2e
def test_a_run_without_a_size_takes_the_default_size(
    racecheck_run: Callable[..., RunOutcome],
) -> None:
    done = racecheck_run(build="locked", clients=8)
    assert_verdict(done, "pass")
    counts = done.result["counts"]
    assert sum(c["ok"] + c["fail"] + c["info"] for c in counts.values()) == defaults.VOTES
