"""A run's plan: the target to host (or reach) and the workload, resolved before anything starts."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from loadtests.defaults import REFERENCE_APP
from loadtests.errors import UsageError
from loadtests.run.settings import RunSettings
from loadtests.target import targetfile
from loadtests.target.launcher import TargetSpec
from loadtests.target.preempt import Preempt
from loadtests.target.safety import check_url
from loadtests.target.workload import Workload, reference_workload


@dataclass(frozen=True)
class Plan:
    """What a run will do, resolved from the settings before anything starts."""

    workload: Workload
    spec: TargetSpec | None
    url: str | None
    workers: int | None
    # [[reset]] commands and the folder they run in (the target file's).
    reset_commands: tuple[str, ...] = ()
    folder: Path | None = None


def _target_env(settings: RunSettings) -> dict[str, str]:
    env: dict[str, str] = {}
    if settings.race_window is not None:
        env["RACECHECK_RACE_WINDOW"] = repr(settings.race_window)
    if settings.switch_interval is not None:
        env["RACECHECK_SWITCH_INTERVAL"] = repr(settings.switch_interval)
    return env


def file_spec(
    tf: targetfile.TargetFile,
    *,
    server: str | None = None,
    threads: int | None = None,
    workers: int | None = None,
    env: Mapping[str, str] | None = None,
    preempt: Preempt | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_remote: bool = False,
) -> TargetSpec:
    """How to host a target file's app; options given on the command line win."""
    folder = tf.path.resolve().parent
    return TargetSpec(
        server=server or tf.server,  # type: ignore[arg-type]
        threads=threads or tf.threads,
        workers=workers or tf.workers,
        host=host,
        port=port,
        app=tf.app or REFERENCE_APP,
        env={**(tf.env or {}), **(env or {})},
        pythonpath=(str(folder),),
        health_path=tf.workload.health_path,
        allow_remote=allow_remote,
        maximum_requests=tf.maximum_requests,
        preempt=preempt or tf.preempt,
        cwd=str(tf.cwd or folder),
        python=str(tf.python) if tf.python else None,
    )


def plan(settings: RunSettings) -> Plan:
    """Resolve the target and workload; raises UsageError before anything starts."""
    from loadtests.nemesis import runner as nemesis

    nemesis.validate(settings.nemesis, settings.nemesis_schedule)
    the_plan = _resolve(settings)
    nemesis.check_target(settings, the_plan.spec)
    extras = the_plan.workload.extras.names
    if extras and settings.driver == "locust":
        # Locust users send counter increments only (their ledger counts votes).
        raise UsageError(
            f"--driver locust drives [[counters]] only, and this target file has "
            f"{', '.join(extras)}: use --driver requests"
        )
    return the_plan


def _resolve(settings: RunSettings) -> Plan:
    the_plan = _resolve_target(settings)
    w = the_plan.workload
    extracts = any(step.extract for step in (*w.login, *w.setup))
    if settings.driver == "locust" and (w.login or w.session != "per-client" or extracts):
        raise UsageError(
            '[[login]], session = "shared" and extract run with the requests driver only'
            " for now; drop --driver locust"
        )
    if settings.read_every is None:
        return the_plan
    if settings.read_every and the_plan.workload.read_increments:
        raise UsageError(
            "--read-every: reads during the load would change the counters they read"
            " (read.increments in the target file); drop --read-every"
        )
    workload = dataclasses.replace(the_plan.workload, read_every=settings.read_every)
    return dataclasses.replace(the_plan, workload=workload)


def _resolve_target(settings: RunSettings) -> Plan:
    env = _target_env(settings)
    server = settings.server or "waitress"
    threads = settings.threads or 16
    workers = settings.workers or 1
    if settings.target_file is not None:
        tf = targetfile.load(settings.target_file)
        folder = tf.path.resolve().parent
        if tf.url is not None:
            url = check_url(tf.url, settings.allow_remote)
            return Plan(tf.workload, None, url, None, tf.reset_commands, folder)
        workers = settings.workers or tf.workers
        spec = file_spec(
            tf,
            server=settings.server,
            threads=settings.threads,
            workers=workers,
            env=env,
            preempt=settings.preemption(),
        )
        return Plan(tf.workload, spec, None, workers, tf.reset_commands, folder)
    workload = reference_workload(settings.build)
    if settings.target_url is not None:
        return Plan(workload, None, check_url(settings.target_url, settings.allow_remote), None)
    reference = settings.app in (None, REFERENCE_APP)
    if not reference:
        # --app hosts any app but drives the reference voting API: a preflight finds out
        # in a second whether this app speaks it, and says to write a target file if not.
        workload = dataclasses.replace(workload, preflight=True, preflight_hint=APP_HINT)
    spec = TargetSpec(
        server=server,  # type: ignore[arg-type]
        threads=threads,
        workers=workers,
        app=settings.app or REFERENCE_APP,
        build=settings.build if reference else None,
        env=env,
        # An app nobody here wrote need not have /health: then no readiness request at all.
        health_path="/health" if reference else None,
        preempt=settings.preemption(),
    )
    return Plan(workload, spec, None, workers)


APP_HINT = (
    "--app drives the reference voting API (POST /api/resolutions, POST /api/votes,"
    " GET /api/tally); for any other app, describe its counters in a target file and"
    " pass --target FILE (docs/targets.md)"
)
