"""``racecheck serve``: host a target under a real server until Ctrl-C."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from loadtests import defaults
from loadtests.cli.exits import run_command
from loadtests.cli.options import (
    preempt_options,
    preemption,
    race_window_option,
    ready_timeout_option,
    switch_interval_option,
)
from loadtests.defaults import BUILDS, REFERENCE_APP, SERVERS
from loadtests.errors import LaunchError, UsageError
from loadtests.target.launcher import TargetSpec, start_target
from loadtests.target.preempt import Preempt


def format_serving(spec: TargetSpec, url: str) -> str:
    """The one line that tells people (and scripts) where the target answers."""
    return f"serving {spec.describe()} at {url} — Ctrl-C to stop"


def build_spec(
    *,
    app: str,
    build: str | None,
    server: str,
    threads: int,
    workers: int,
    host: str,
    port: int,
    race_window: float | None,
    switch_interval: float | None,
    allow_remote: bool,
    preempt: Preempt | None = None,
) -> TargetSpec:
    """Turn the options into a TargetSpec; TargetSpec refuses what cannot work."""
    reference = app == REFERENCE_APP
    env = {}
    if race_window is not None:
        env["RACECHECK_RACE_WINDOW"] = repr(race_window)
    if switch_interval is not None:
        env["RACECHECK_SWITCH_INTERVAL"] = repr(switch_interval)
    return TargetSpec(
        server=server,  # type: ignore[arg-type]  # click.Choice(SERVERS) checked it
        threads=threads,
        workers=workers,
        host=host,
        port=port,
        app=app,
        # Say the build out loud rather than inherit a RACECHECK_BUILD from the shell.
        build=(build or "locked") if reference else build,
        env=env,
        # Apps nobody here wrote have no /health: ready once "/" answers at all.
        health_path="/health" if reference else None,
        allow_remote=allow_remote,
        preempt=preempt,
    )


@click.command("serve")
@click.option(
    "--build", type=click.Choice(BUILDS), help="Reference app variant.  [default: locked]"
)
@click.option("--server", type=click.Choice(SERVERS), default=defaults.SERVER, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=defaults.THREADS, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="gunicorn workers or apache daemon processes.",
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Loopback unless --allow-remote."
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0: the OS picks."
)
@click.option(
    "--app",
    "app",
    default=REFERENCE_APP,
    show_default=True,
    metavar="MODULE:NAME",
    help="A Flask app object or a factory that needs no arguments.",
)
@click.option(
    "--target",
    "target_file",
    type=click.Path(path_type=Path),
    default=None,
    help="A target file (TOML): host its app as `run --target` would, after its [[reset]]"
    " commands. --server, --threads and --workers, when given, win over the file's.",
)
@race_window_option
@switch_interval_option
@preempt_options
@click.option("--allow-remote", is_flag=True, help="Allow a --host that is not loopback.")
@ready_timeout_option
def command(
    build: str | None,
    server: str,
    threads: int,
    workers: int,
    host: str,
    port: int,
    app: str,
    race_window: float | None,
    switch_interval: float | None,
    preempt: bool,
    preempt_rate: float,
    preempt_seed: int,
    preempt_modules: tuple[str, ...],
    allow_remote: bool,
    ready_timeout: float,
    target_file: Path | None,
) -> None:
    """Start a target under a threaded server, print its URL, serve until Ctrl-C.

    \b
    racecheck serve --build unlocked --server gunicorn --threads 16 --workers 2
    racecheck serve --app myapp:create_app --port 8000
    racecheck serve --target likes.toml --port 8000
    """

    def body() -> None:
        if target_file is not None:
            given = given_on_command_line(("server", "threads", "workers"))
            spec = file_spec_for(
                target_file,
                server=server if "server" in given else None,
                threads=threads if "threads" in given else None,
                workers=workers if "workers" in given else None,
                host=host,
                port=port,
                allow_remote=allow_remote,
                preempt=preemption(preempt, preempt_rate, preempt_seed, preempt_modules),
            )
            _serve(spec, ready_timeout)
            return
        spec = build_spec(
            app=app,
            build=build,
            server=server,
            threads=threads,
            workers=workers,
            host=host,
            port=port,
            race_window=race_window,
            switch_interval=switch_interval,
            allow_remote=allow_remote,
            preempt=preemption(preempt, preempt_rate, preempt_seed, preempt_modules),
        )
        _serve(spec, ready_timeout)

    run_command(body)


def given_on_command_line(names: tuple[str, ...]) -> set[str]:
    """Which of these options were given on the command line (not left at their default)."""
    context = click.get_current_context()
    return {n for n in names if context.get_parameter_source(n) == ParameterSource.COMMANDLINE}


def file_spec_for(path: Path, **options: Any) -> TargetSpec:
    """The spec of a target file's app, after its [[reset]] commands ran."""
    from loadtests.run.plan import file_spec
    from loadtests.run.reset import run_commands
    from loadtests.target import targetfile

    tf = targetfile.load(path)
    if tf.url is not None:
        raise UsageError(f"{path}: url = {tf.url!r} runs already; serve hosts an app (app = ...)")
    run_commands(tf.reset_commands, tf.path.resolve().parent)
    return file_spec(tf, **options)


def _serve(spec: TargetSpec, ready_timeout: float) -> None:
    # SIGTERM unwinds like Ctrl-C, so `docker stop` or a supervisor stops the target
    # too: Python's default for SIGTERM would end us without running any cleanup.
    # SIGHUP (a closing terminal) too.
    stops = (signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in stops}
    try:
        with start_target(spec, ready_timeout=ready_timeout) as target:
            click.echo(format_serving(spec, target.url))
            status = target.process.wait()  # until Ctrl-C, or the server dies
            raise LaunchError(
                f"the target exited on its own with status {status}; its output is above"
            )
    except KeyboardInterrupt:
        click.echo("racecheck: stopped the target", err=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
