"""racecheck's locustfile: Locust users that prove (or disprove) a Flask app's thread safety.

    locust -f loadtests/locustfile.py --headless -u 16 -r 16 -t 6s --host http://127.0.0.1:8000

Users vote through racecheck's one client; each worker keeps an exact history;
at the end the master (or the single local process) stops the resolution,
reads the final tally, checks everything, writes a run directory under
``reports/``, prints one ``racecheck verdict: ...`` line and exits 0 (PASS),
1 (FAIL) or 3 (UNKNOWN). ``locust -f loadtests/locustfile.py --help`` lists the
``--racecheck-*`` options; docs/locust.md explains them.

This is the only file Locust loads; importing locust monkey-patches the
process with gevent, so nothing else in racecheck imports it.
"""

from __future__ import annotations

from locust import events

from loadtests.swarm.inside.events import install
from loadtests.swarm.inside.users import Voter

install(events)

__all__ = ["Voter"]
