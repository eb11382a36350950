"""Each default and domain is defined once, in loadtests/defaults.py."""

from __future__ import annotations

import re
from pathlib import Path

import target_app.config
from loadtests import defaults

PACKAGE = Path(defaults.__file__).parent


def test_the_harness_and_the_reference_app_agree_on_builds_and_windows() -> None:
    assert defaults.BUILDS == target_app.config.BUILDS
    assert defaults.MAX_RACE_WINDOW == target_app.config.MAX_RACE_WINDOW
    assert target_app.config.DEFAULTS["RACE_WINDOW"] == defaults.RACE_WINDOW


def test_no_module_spells_a_domain_of_its_own() -> None:
    """A tuple of server, build or driver names appears only in defaults.py."""
    domains = [
        r'"werkzeug",\s*"waitress"',
        r'"locked",\s*"unlocked",\s*"sqlite"',
        r'"requests",\s*"locust"',
        r'"pass",\s*"violation"',
    ]
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "defaults.py":
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(PACKAGE)}: {d}" for d in domains if re.search(d, text)]
    assert offenders == []


def test_no_module_spells_a_default_number_of_its_own() -> None:
    """threads=16, clients=32 and the 10 s timeout are read from defaults, never retyped."""
    pattern = re.compile(
        r"\b(threads|clients|timeout|final_timeout)\s*:\s*[\w.| ]+=\s*(16|32|10\.0)\b"
        r"|default=(16|32|10\.0)\b"
    )
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "defaults.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == []
