"""Locust's own command-line options, read from its parser in a child process.

The parser is asked in a child because importing locust monkey-patches threads with
gevent, which must never happen inside the test process (only locustfiles import it).
racecheck's locustfile options are registered first, as `locust -f` would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

from loadtests.swarm.driver import locust_env

_SCRIPT = (
    "import json, locust\n"
    "from loadtests.swarm.inside.events import install\n"
    "install(locust.events)\n"
    "from locust.argument_parser import get_parser\n"
    "print(json.dumps([[a.option_strings, getattr(a, 'env_var', None)]"
    " for a in get_parser()._actions]))\n"
)


@dataclass(frozen=True)
class LocustOption:
    """One option of Locust's parser: its flags and its environment variable, if any."""

    flags: tuple[str, ...]
    env_var: str | None


def locust_options() -> list[LocustOption]:
    """Every option Locust accepts, racecheck's included."""
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        env=locust_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    return [LocustOption(tuple(flags), env_var) for flags, env_var in rows]
