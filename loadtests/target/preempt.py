"""``--preempt``'s settings, and how they travel from the harness to the target's process.

The harness builds a :class:`Preempt` once (validated there); the launcher puts it in the
target's environment with :meth:`Preempt.env`, the way the race window and the switch
interval travel; ``loadtests.target.serve`` reads it back once with :func:`from_env` and
installs the tracer (``loadtests.target.tracer``). Stdlib only: both sides import this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from loadtests import defaults
from loadtests.errors import UsageError

ENV_RATE = "RACECHECK_PREEMPT"
ENV_SEED = "RACECHECK_PREEMPT_SEED"
ENV_MODULES = "RACECHECK_PREEMPT_MODULES"
# Where each target process writes its per-request app lines when it stops.
ENV_TRACE_DIR = "RACECHECK_PREEMPT_TRACE"
TRACE_DIR_NAME = "preempt-trace"

# Said wherever a FAIL under --preempt is shown: console, result.json, report.
FAIL_MEANING = (
    "This run forced thread switches between the bytecodes of the app's own code "
    "(--preempt). The interleaving that lost updates is one the Python language allows and "
    "free-threaded CPython (3.13t and later) produces on its own; the GIL build only made it "
    "rare. It is a real bug: guard the read-modify-write with a lock."
)
PASS_MEANING = (
    "Forced thread switches between the app's bytecodes (--preempt) found no lost update: "
    "the interleavings the GIL usually hides were tried too."
)
GIL_MAY_HIDE = (
    "CPython's GIL may be hiding a race: on 3.11 threads switch only at calls and backward "
    "jumps, so a bare `n += 1` in a handler never loses an update here, yet it does on "
    "free-threaded CPython. Run again with --preempt to force switches inside the app's code."
)


@dataclass(frozen=True)
class Preempt:
    """Forced switches in the app's code: density per opcode, its seed, which modules."""

    rate: float = defaults.PREEMPT_RATE
    seed: int = defaults.PREEMPT_SEED
    # Empty: the top-level package of the app's ``module:attr``.
    modules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problem = defaults.preempt_rate_problem(self.rate)
        if problem is not None:
            raise UsageError(f"{problem} (--preempt-rate)")
        for module in self.modules:
            if not module or not all(part.isidentifier() for part in module.split(".")):
                raise UsageError(
                    f"preempt module {module!r} is not a module name; give dotted names such "
                    "as 'myapp' or 'myapp.views'"
                )

    def env(self) -> dict[str, str]:
        """The environment variables that carry these settings to the target."""
        env = {ENV_RATE: repr(self.rate), ENV_SEED: str(self.seed)}
        if self.modules:
            env[ENV_MODULES] = ",".join(self.modules)
        return env

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready form recorded in a run's settings."""
        return {"rate": self.rate, "seed": self.seed, "modules": list(self.modules)}


def from_env(environ: Mapping[str, str]) -> Preempt | None:
    """The settings the launcher passed, or None when preemption is off."""
    rate = environ.get(ENV_RATE)
    if not rate:
        return None
    try:
        modules = tuple(m.strip() for m in environ.get(ENV_MODULES, "").split(",") if m.strip())
        return Preempt(float(rate), int(environ.get(ENV_SEED) or defaults.PREEMPT_SEED), modules)
    except ValueError:
        raise UsageError(
            f"{ENV_RATE}={rate!r} / {ENV_SEED}={environ.get(ENV_SEED)!r}: give a probability "
            "per opcode (0 < rate <= 1) and a whole-number seed"
        ) from None


def app_modules(app_ref: str, preempt: Preempt) -> tuple[str, ...]:
    """The modules whose frames get forced switches: the ones given, else the app's package."""
    if preempt.modules:
        return preempt.modules
    return (app_ref.partition(":")[0].split(".")[0],)


def settings_dict(preempt: Preempt | None, app_ref: str | None) -> dict[str, object] | None:
    """What result.json records under ``settings.preempt`` (None: preemption was off)."""
    if preempt is None:
        return None
    data = preempt.to_dict()
    if app_ref is not None:
        data["modules"] = list(app_modules(app_ref, preempt))
    return data
