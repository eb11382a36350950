"""docker-compose.yml and the Dockerfile: valid, and in step with the code they run.

There is no Docker engine here, so the file is validated twice: by Debian's
``docker-compose config`` (which needs no engine) and against the Compose
Specification's JSON schema, vendored as tests/data/compose-spec.json (copied
from Debian's docker-compose 1.29.2, compose/config/compose_spec.json).
Then every command, flag and environment variable it uses is checked against
what racecheck and Locust really accept.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
import yaml
from support.locust import locust_options

from loadtests.cli import main as racecheck_cli

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def locust_env_vars() -> dict[str, list[str]]:
    """Every Locust option's environment variable -> its flags, with racecheck's loaded."""
    return {o.env_var: list(o.flags) for o in locust_options() if o.env_var}


def spec_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    # The schema names its draft by an http:// URL jsonschema does not map: say it here.
    validator = jsonschema.Draft201909Validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    return [f"{list(e.path)}: {e.message}" for e in errors]


def test_the_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    assert spec_errors(compose) == []


def test_the_schema_check_would_catch_a_mistake(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["worker"]["scale_to"] = 4
    broken["services"]["master"]["ports"] = "8089"
    assert len(spec_errors(broken)) == 2


def test_docker_compose_config_accepts_it_and_interpolates_the_build(tmp_path: Path) -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("Debian's docker-compose is not installed (apt-get install docker-compose)")
    env = {**os.environ, "RACECHECK_BUILD": "unlocked"}
    done = subprocess.run(
        [binary, "-f", str(COMPOSE), "config"],
        env=env,
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    target = resolved["services"]["target"]["command"]
    assert target[target.index("--build") + 1] == "unlocked"
    assert resolved["services"]["master"]["environment"]["LOCUST_RACECHECK_BUILD"] == "unlocked"


def test_workers_scale_and_only_loopback_is_published(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"target", "master", "worker"}
    worker = services["worker"]
    assert "ports" not in worker and "container_name" not in worker
    assert services["master"]["ports"] == ["127.0.0.1:8089:8089"]
    assert "ports" not in services["target"]
    # Master and workers share the volume the workers' histories go through.
    assert services["master"]["volumes"] == worker["volumes"] == ["reports:/app/reports"]
    assert services["master"]["environment"]["LOCUST_RACECHECK_RESULTS_DIR"] == "/app/reports"


def test_the_target_command_is_a_real_racecheck_serve(compose: dict[str, Any]) -> None:
    command = compose["services"]["target"]["command"]
    assert command[:2] == ["racecheck", "serve"]
    serve = racecheck_cli.commands["serve"]
    known = {opt for param in serve.params for opt in getattr(param, "opts", [])}
    assert {arg for arg in command if arg.startswith("--")} <= known
    build = serve.params[[p.name for p in serve.params].index("build")]
    assert isinstance(build.type, click.Choice)
    assert command[command.index("--server") + 1] == "gunicorn"
    assert command[command.index("--build") + 1] == "${RACECHECK_BUILD:-locked}"


def test_locust_commands_and_variables_exist(
    compose: dict[str, Any], locust_env_vars: dict[str, list[str]]
) -> None:
    flags = {flag for options in locust_env_vars.values() for flag in options}
    flags |= {"--master", "--worker", "--master-host", "--master-bind-host", "-f"}
    for name in ("master", "worker"):
        command = compose["services"][name]["command"]
        assert command[0] == "locust"
        locustfile = command[command.index("-f") + 1]
        assert (ROOT / Path(locustfile).relative_to("/app")).is_file(), locustfile
        unknown = {arg for arg in command if arg.startswith("-")} - flags
        assert not unknown, f"{name} uses options Locust does not know: {unknown}"
    variables = set(compose["services"]["master"]["environment"])
    assert variables <= set(locust_env_vars), variables - set(locust_env_vars)


def test_the_image_holds_what_the_services_run() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for needed in ("pyproject.toml", "README.md", "target_app", "loadtests"):
        assert needed in dockerfile
        assert (ROOT / needed).exists()
    assert "USER racecheck" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", "reports", ".git"} <= set(ignored)
