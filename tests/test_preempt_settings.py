"""--preempt's settings: validated once, carried to the target by its environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from loadtests.cli import main as cli_main
from loadtests.errors import UsageError
from loadtests.report.reproduce import command_from_settings
from loadtests.run.execute import RunSettings
from loadtests.target import preempt
from loadtests.target.launcher import TargetSpec, _target_env
from loadtests.target.preempt import Preempt


def test_the_environment_carries_the_settings_both_ways() -> None:
    settings = Preempt(rate=0.25, seed=9, modules=("myapp", "lib.cache"))
    assert preempt.from_env(settings.env()) == settings
    assert preempt.from_env({}) is None


@pytest.mark.parametrize("rate", [0.0, -1.0, 1.5, float("nan")])
def test_a_rate_is_a_probability(rate: float) -> None:
    with pytest.raises(UsageError, match="probability per opcode"):
        Preempt(rate=rate)


def test_module_names_are_checked() -> None:
    with pytest.raises(UsageError, match="not a module name"):
        Preempt(modules=("my-app",))


def test_the_apps_package_is_traced_unless_modules_are_given() -> None:
    assert preempt.app_modules("myapp.wsgi:app", Preempt()) == ("myapp",)
    assert preempt.app_modules("myapp.wsgi:app", Preempt(modules=("x",))) == ("x",)


def test_the_launcher_puts_them_in_the_targets_environment(tmp_path: Path) -> None:
    spec = TargetSpec(preempt=Preempt(rate=0.5), trace_dir=str(tmp_path))
    env = _target_env(spec)
    assert env[preempt.ENV_RATE] == "0.5"
    assert env[preempt.ENV_TRACE_DIR] == str(tmp_path)
    assert preempt.ENV_RATE not in _target_env(TargetSpec())


def test_a_running_target_cannot_be_preempted() -> None:
    with pytest.raises(UsageError, match="--target-url"):
        RunSettings(votes=10, target_url="http://127.0.0.1:1", preempt=True)


def test_the_reproduce_command_repeats_the_density() -> None:
    settings = RunSettings(votes=10, build="naive", preempt=True, preempt_rate=0.5, preempt_seed=3)
    command = command_from_settings(settings.to_dict())
    assert "--preempt --preempt-rate 0.5 --preempt-seed 3" in command
    plain = command_from_settings(RunSettings(votes=10).to_dict())
    assert "preempt" not in plain


def test_the_cli_refuses_a_bad_rate() -> None:
    result = CliRunner().invoke(cli_main, ["run", "--votes", "1", "--preempt-rate", "2"])
    assert result.exit_code == 2
    assert "probability per opcode" in result.output
