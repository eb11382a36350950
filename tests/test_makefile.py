"""The Makefile's stamps: `make demo` installs the runtime only, `make test` the dev extras.

`make -n` prints what each target would run, in a copy of the Makefile whose .venv
holds only the stamps: nothing is installed, nothing reaches the network.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = "pip install --quiet -e .\n"
DEV = "pip install --quiet -e '.[dev]'"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(folder: Path, target: str) -> str:
    done = subprocess.run(
        ["make", "-n", target], cwd=folder, capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    (tmp_path / ".venv").mkdir()
    return tmp_path


def test_demo_installs_the_runtime_dependencies_only(clone: Path) -> None:
    planned = dry_run(clone, "demo")
    assert RUNTIME in planned and "[dev" not in planned
    assert "racecheck compare --quick" in planned


def test_test_after_demo_installs_the_dev_extras(clone: Path) -> None:
    (clone / ".venv" / ".installed-runtime").touch()  # as `make demo` leaves it
    planned = dry_run(clone, "test")
    assert DEV in planned
    assert "pytest" in planned


def test_demo_after_test_installs_nothing_more(clone: Path) -> None:
    for stamp in (".installed-runtime", ".installed-dev", ".installed-apache"):
        (clone / ".venv" / stamp).touch()  # as `make test` leaves them
    assert "pip install" not in dry_run(clone, "demo")
    assert "pip install" not in dry_run(clone, "test")
