"""A run's plan: the target to host (or reach) and the workload, resolved before anything starts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from loadtests.defaults import REFERENCE_APP
from loadtests.errors import UsageError
from loadtests.run.settings import RunSettings
from loadtests.target import targetfile
from loadtests.target.launcher import TargetSpec
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


def plan(settings: RunSettings) -> Plan:
    """Resolve the target and workload; raises UsageError before anything starts."""
    from loadtests.nemesis import runner as nemesis

    nemesis.validate(settings.nemesis, settings.nemesis_schedule)
    the_plan = _resolve(settings)
    nemesis.check_target(settings, the_plan.spec)
    return the_plan


def _resolve(settings: RunSettings) -> Plan:
    the_plan = _resolve_target(settings)
    browser_like = the_plan.workload.login or the_plan.workload.session != "per-client"
    if settings.driver == "locust" and browser_like:
        raise UsageError(
            '[[login]] and session = "shared" run with the requests driver only for now;'
            " drop --driver locust"
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
        spec = TargetSpec(
            server=settings.server or tf.server,  # type: ignore[arg-type]
            threads=settings.threads or tf.threads,
            workers=workers,
            app=tf.app or REFERENCE_APP,
            env={**(tf.env or {}), **env},
            pythonpath=(str(tf.path.resolve().parent),),
            health_path=tf.workload.health_path,
            maximum_requests=tf.maximum_requests,
            preempt=settings.preemption() or tf.preempt,
            cwd=str(tf.cwd or folder),
            python=str(tf.python) if tf.python else None,
        )
        return Plan(tf.workload, spec, None, workers, tf.reset_commands, folder)
    workload = reference_workload(settings.build)
    if settings.target_url is not None:
        return Plan(workload, None, check_url(settings.target_url, settings.allow_remote), None)
    spec = TargetSpec(
        server=server,  # type: ignore[arg-type]
        threads=threads,
        workers=workers,
        app=settings.app or REFERENCE_APP,
        build=settings.build if settings.app in (None, REFERENCE_APP) else None,
        env=env,
        preempt=settings.preemption(),
    )
    return Plan(workload, spec, None, workers)
