"""Wires racecheck into Locust's events: options at parse time, everything else at init."""

from __future__ import annotations

import logging
from typing import Any

import gevent
from locust.env import Environment

from loadtests.errors import RacecheckError
from loadtests.swarm.inside.node import NODE_ATTR, Node, default_stop_timeout
from loadtests.swarm.options import RacecheckOptions, add_arguments
from loadtests.swarm.protocol import DONE_MSG, FINAL_MSG, HELLO_MSG, STOP_MSG

logger = logging.getLogger("racecheck")


def _add_options(parser: Any, **_: Any) -> None:
    add_arguments(parser)


def _on_init(environment: Environment, runner: Any, web_ui: Any, **_: Any) -> None:
    if runner is None:  # e.g. --list: nothing runs
        return
    try:
        # Validated once here for a clear message; each test start reads them again.
        options = RacecheckOptions.from_parsed(environment.parsed_options)
    except RacecheckError as exc:
        logger.error("%s", exc)
        raise SystemExit(2) from None
    # gevent's clock stands still until its loop first runs; a start-up slower than
    # --run-time (imports on a loaded machine) would make Locust's run-time timer, set
    # just after this, fire at once and quit before the test starts. Read the clock now.
    gevent.get_hub().loop.update_now()
    node = Node(environment)
    setattr(environment, NODE_ATTR, node)
    events: Any = environment.events  # locust's EventHook.add_listener is untyped
    events.test_start.add_listener(lambda **_: node.start())
    events.test_stop.add_listener(lambda **_: node.stop())
    # Added after the runner's own listener: quitting fires in reverse order.
    events.quitting.add_listener(node.on_quitting)
    if node.worker is not None and node.role == "worker":
        runner.register_message(STOP_MSG, node.worker.on_stop_message, concurrent=True)
        events.report_to_master.add_listener(node.worker.on_report_to_master)
    master = node.master
    if master is None:
        return
    default_stop_timeout(environment, options)
    if node.role == "master":
        runner.register_message(FINAL_MSG, master.on_final)
        runner.register_message(HELLO_MSG, master.on_hello)
        runner.register_message(DONE_MSG, master.on_done)
        events.worker_report.add_listener(master.on_worker_report)
    if options.announce is not None:
        master.announce(options.announce)
    if web_ui is not None:
        from loadtests.swarm.inside import webui as locustfile_webui

        locustfile_webui.install(master, web_ui)


def install(events: Any) -> None:
    """Register racecheck's listeners on Locust's global events (once, from the locustfile)."""
    events.init_command_line_parser.add_listener(_add_options)
    events.init.add_listener(_on_init)
