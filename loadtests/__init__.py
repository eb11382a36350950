"""racecheck: test a Flask app for thread-safety under real load, and prove the races it finds.

The public API, for scripts and tests (everything else in the package is internal
and may change)::

    from loadtests import RunSettings, execute
    outcome = execute(RunSettings(build="unlocked", votes=2000))
    outcome.verdict.status, outcome.run_dir

    from loadtests import check, FinalState, CheckSettings, load_history
    verdict = check(load_history(path), FinalState({"yes": 10, "no": 3}), CheckSettings())

Names load on first use, so ``import loadtests`` stays cheap (the pytest plugin
is imported into every pytest session).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> (module, attribute)
_PUBLIC: dict[str, tuple[str, str]] = {
    "RunSettings": ("loadtests.run.settings", "RunSettings"),
    "RunOutcome": ("loadtests.run.execute", "RunOutcome"),
    "execute": ("loadtests.run.execute", "execute"),
    "check": ("loadtests.check.checker", "check"),
    "check_safe": ("loadtests.check.checker", "check_safe"),
    "CheckSettings": ("loadtests.check.checker", "CheckSettings"),
    "FinalState": ("loadtests.check.checker", "FinalState"),
    "Verdict": ("loadtests.check.verdict", "Verdict"),
    "CheckResult": ("loadtests.check.verdict", "CheckResult"),
    "Op": ("loadtests.history", "Op"),
    "History": ("loadtests.history", "History"),
    "load_history": ("loadtests.history", "iter_file"),
    "TargetSpec": ("loadtests.target.launcher", "TargetSpec"),
    "start_target": ("loadtests.target.launcher", "start_target"),
    "load_target_file": ("loadtests.target.targetfile", "load"),
    "RacecheckError": ("loadtests.errors", "RacecheckError"),
    "UsageError": ("loadtests.errors", "UsageError"),
    "HarnessError": ("loadtests.errors", "HarnessError"),
}

if TYPE_CHECKING:
    from loadtests.check.checker import CheckSettings, FinalState, check, check_safe
    from loadtests.check.verdict import CheckResult, Verdict
    from loadtests.errors import HarnessError, RacecheckError, UsageError
    from loadtests.history import History, Op
    from loadtests.history import iter_file as load_history
    from loadtests.run.execute import RunOutcome, execute
    from loadtests.run.settings import RunSettings
    from loadtests.target.launcher import TargetSpec, start_target
    from loadtests.target.targetfile import load as load_target_file


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'loadtests' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


__all__ = [
    "CheckResult",
    "CheckSettings",
    "FinalState",
    "HarnessError",
    "History",
    "Op",
    "RacecheckError",
    "RunOutcome",
    "RunSettings",
    "TargetSpec",
    "UsageError",
    "Verdict",
    "__version__",
    "check",
    "check_safe",
    "execute",
    "load_history",
    "load_target_file",
    "start_target",
]
