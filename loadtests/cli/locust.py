"""``racecheck locust``: a target and Locust's web UI with racecheck's locustfile, until Ctrl-C."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from loadtests import defaults
from loadtests.check.exitcodes import EXIT_UNKNOWN
from loadtests.cli.exits import handle_signals, run_command
from loadtests.cli.options import (
    preempt_options,
    preemption,
    race_window_option,
    ready_timeout_option,
)
from loadtests.defaults import BUILDS, SERVERS
from loadtests.errors import LaunchError
from loadtests.run.rundir import DEFAULT_ROOT
from loadtests.swarm.driver import locust_command, locust_env, wait_for_file
from loadtests.swarm.ports import refuse_busy_port
from loadtests.target.launcher import ManagedProcess, TargetSpec, start_process, start_target
from loadtests.target.safety import check_bind_host, reachable_urls

STARTUP_TIMEOUT = 60.0


def locust_args(
    url: str, build: str, web_host: str, web_port: int, results: Path, announce: Path
) -> list[str]:
    """The Locust options ``racecheck locust`` always passes (the user's come after)."""
    return [
        "--host",
        url,
        "--web-host",
        web_host,
        "--web-port",
        str(web_port),
        "--racecheck-build",
        build,
        "--racecheck-results-dir",
        str(results),
        "--racecheck-announce",
        str(announce),
    ]


def _start_locust(
    args: list[str], processes: int, results: Path, started: list[ManagedProcess]
) -> None:
    """Start Locust (one process, or a master and workers) into ``started``, master first.

    Each process is added as soon as it exists, so the caller stops it even if a
    later start fails or Ctrl-C arrives in between.
    """
    env = locust_env()
    if processes == 1:
        started.append(start_process(locust_command(*args), env=env))
        return
    master_args = ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", "0"]
    started.append(start_process(locust_command(*args, *master_args), env=env))
    announce = Path(args[args.index("--racecheck-announce") + 1])
    port = wait_for_file(announce, started[0], STARTUP_TIMEOUT)["master_port"]
    for n in range(1, processes + 1):
        worker = ["--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
        started.append(
            start_process(
                locust_command(*worker), env=env, log_path=results / f"locust-worker-{n}.log"
            )
        )


def _serve(
    spec: TargetSpec,
    build: str,
    web_host: str,
    web_port: int,
    processes: int,
    results: Path,
    extra: tuple[str, ...],
    ready_timeout: float,
) -> int:
    refuse_busy_port(web_host, web_port, "--web-port")
    results.mkdir(parents=True, exist_ok=True)
    announce = results / "locust-web.json"
    announce.unlink(missing_ok=True)
    with start_target(spec, ready_timeout=ready_timeout, log_path=results / "target.log") as target:
        args = [*locust_args(target.url, build, web_host, web_port, results, announce), *extra]
        started: list[ManagedProcess] = []
        try:
            _start_locust(args, processes, results, started)
            main = started[0]
            port = wait_for_file(announce, main, STARTUP_TIMEOUT)["web_port"]
            urls = " and ".join(reachable_urls(web_host, int(str(port))))
            click.echo(
                f"racecheck: target {spec.describe()} at {target.url}\n"
                f"racecheck: Locust web UI at {urls} (see its Tally tab)"
                " — Ctrl-C to stop",
                err=True,
            )
            status = main.wait()
        except KeyboardInterrupt:
            # SIGTERM lets Locust finish the run: stop users, collect, check, print the verdict.
            status = EXIT_UNKNOWN
            if started:
                started[0].send_signal(signal.SIGTERM)
                status = started[0].wait(60.0)
            click.echo("racecheck: stopped Locust and the target", err=True)
        finally:
            for process in reversed(started):
                process.stop(grace=5.0)
    if status is None:
        raise LaunchError("Locust did not stop within 60 s after SIGTERM; it was killed")
    return status


_BIND_OPTIONS = {"--web-host": "Locust's web UI", "--master-bind-host": "the master"}


def _bind_hosts(options: tuple[str, ...]) -> list[tuple[str, str]]:
    """The hosts that options passed through to Locust would bind, and what each is for."""
    found = []
    for index, option in enumerate(options):
        name, equals, value = option.partition("=")
        if name not in _BIND_OPTIONS:
            continue
        if not equals:
            value = options[index + 1] if index + 1 < len(options) else ""
        found.append((value, _BIND_OPTIONS[name]))
    return found


@click.command(
    "locust",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.option("--build", type=click.Choice(BUILDS), default="locked", show_default=True)
@click.option("--server", type=click.Choice(SERVERS), default=defaults.SERVER, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=defaults.THREADS, show_default=True)
@click.option(
    "--web-port",
    type=click.IntRange(0, 65535),
    default=8089,
    show_default=True,
    help="0 picks a free port.",
)
@click.option(
    "--web-host",
    default="127.0.0.1",
    show_default=True,
    help="Interface of the web UI (and the master port): loopback unless you ask.",
)
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Locust worker processes (1: a single local process).",
)
@race_window_option
@preempt_options
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Where run directories and logs go [default: reports/].",
)
@click.option(
    "--target",
    "target_file",
    type=click.Path(path_type=Path),
    default=None,
    help="A target file (TOML): host its app (after its [[reset]] commands) and swarm its"
    " counters; the Tally tab shows every one.",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Let --web-host be an interface other than loopback (the UI can start load).",
)
@ready_timeout_option
@click.argument("locust_options", nargs=-1, type=click.UNPROCESSED)
def command(
    build: str,
    server: str,
    threads: int,
    web_port: int,
    web_host: str,
    processes: int,
    race_window: float | None,
    preempt: bool,
    preempt_rate: float,
    preempt_seed: int,
    preempt_modules: tuple[str, ...],
    out: Path | None,
    allow_remote: bool,
    ready_timeout: float,
    target_file: Path | None,
    locust_options: tuple[str, ...],
) -> None:
    """Start a target and Locust's web UI with racecheck's locustfile; Ctrl-C stops both.

    Start a swarm in the browser, stop it, and the Tally tab shows the votes
    acknowledged per choice against the server's tally, then the verdict.
    Options racecheck does not know are passed to Locust, e.g. -u 20 -r 20.

    \b
    racecheck locust --build unlocked --server gunicorn --threads 16
    racecheck locust --web-port 0 -- --stop-timeout 5
    racecheck locust --target likes.toml
    """
    env = {"RACECHECK_RACE_WINDOW": repr(race_window)} if race_window is not None else {}
    forced = preemption(preempt, preempt_rate, preempt_seed, preempt_modules)

    def body() -> int:
        nonlocal locust_options
        # Before anything starts: whoever reaches the web UI can aim the load anywhere.
        check_bind_host(web_host, "Locust's web UI", allow_remote)
        for host, what in _bind_hosts(locust_options):  # passed through: the same rule
            check_bind_host(host, what, allow_remote)
        if target_file is not None:
            from loadtests.cli.serve import file_spec_for, given_on_command_line

            given = given_on_command_line(("server", "threads"))
            spec = file_spec_for(
                target_file,
                server=server if "server" in given else None,
                threads=threads if "threads" in given else None,
                env=env,
                preempt=forced,
            )
            locust_options = ("--racecheck-target", str(target_file.resolve()), *locust_options)
        else:
            spec = TargetSpec(
                server=server,  # type: ignore[arg-type]
                threads=threads,
                build=build,
                env=env,
                preempt=forced,
            )
        with handle_signals():
            return _serve(
                spec,
                build,
                web_host,
                web_port,
                processes,
                out or DEFAULT_ROOT,
                locust_options,
                ready_timeout,
            )

    sys.exit(run_command(body))
