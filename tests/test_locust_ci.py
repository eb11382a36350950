"""The GitHub Actions workflow users copy: it runs on every push and only uses options that exist.

No runner here, so the workflow is checked for what would break it silently:
its triggers, the commands it runs (parsed by racecheck's own CLI and checked
against ``locust --help`` with racecheck's locustfile) and the files it needs.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from support.locust import locust_options

from loadtests.cli import main as racecheck_cli

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "racecheck.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return data


def commands(workflow: dict[str, Any], program: str) -> list[list[str]]:
    """Every ``program ...`` command line in the workflow's run steps."""
    found = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            script = step.get("run", "").replace("\\\n", " ")
            for line in script.splitlines():
                words = shlex.split(line, comments=True)
                if words and words[0] == program:
                    found.append(words[1:])
    return found


def test_it_runs_on_every_push_with_read_only_permissions(workflow: dict[str, Any]) -> None:
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "push" in triggers and triggers["push"] is None  # every branch, every push
    assert workflow["permissions"] == {"contents": "read"}
    assert all("timeout-minutes" in job for job in workflow["jobs"].values())


def test_every_racecheck_command_parses(workflow: dict[str, Any]) -> None:
    found = commands(workflow, "racecheck")
    assert {args[0] for args in found} == {"run", "serve"}
    for args in found:
        command = racecheck_cli.commands[args[0]]
        with command.make_context(args[0], [a for a in args[1:] if a != "&"]) as context:
            assert isinstance(context, click.Context)
    runs = [args for args in found if args[0] == "run"]
    assert any("locust" in args and "--expect" not in args for args in runs)
    assert any(
        args[args.index("--expect") + 1] == "violation" for args in runs if "--expect" in args
    )


def test_every_locust_option_exists(workflow: dict[str, Any]) -> None:
    found = commands(workflow, "locust")
    assert found, "the workflow should show plain headless Locust too"
    # `locust --help` does not load the locustfile, so ask the parser it builds.
    known = {flag for option in locust_options() for flag in option.flags}
    for args in found:
        assert (ROOT / args[args.index("-f") + 1]).is_file()
        unknown = {a for a in args if a.startswith("-")} - known
        assert not unknown, f"the workflow passes Locust options it does not know: {unknown}"


def test_the_suite_job_runs_the_ci_entry_point(workflow: dict[str, Any]) -> None:
    suite = workflow["jobs"]["suite"]
    assert suite["container"]["image"].startswith("python:3.11")
    assert "NET_ADMIN" in suite["container"]["options"]  # ip netns: Locust across hosts
    assert [s["run"] for s in suite["steps"] if "run" in s] == [".ci/run"]
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
