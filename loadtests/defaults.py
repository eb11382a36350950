"""Every default and domain of the harness, defined once (after Flask's ``default_config``).

click options, the settings objects, the launcher, the drivers, compare, the pytest
plugin and ``reproduce`` all read these names; none of them spells a literal of its
own. Validation happens once, where settings are built; inner layers trust typed values.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

# The reference app's builds and race-window ceiling. target_app is the product under test
# and never imports the harness; importing it here would load Flask into every pytest session
# through the plugin, so tests/test_defaults.py holds the two definitions equal instead.
Build = Literal["locked", "unlocked", "sqlite", "naive"]
BUILDS: Final[tuple[Build, ...]] = get_args(Build)
MAX_RACE_WINDOW: Final = 60.0
RACE_WINDOW: Final = 0.0  # the reference app's window when none is given (a bare yield)
ServerName = Literal["werkzeug", "waitress", "gunicorn", "apache"]
SERVERS: Final[tuple[ServerName, ...]] = get_args(ServerName)
DriverName = Literal["requests", "locust"]
DRIVERS: Final[tuple[DriverName, ...]] = get_args(DriverName)
Expect = Literal["pass", "violation"]
EXPECTS: Final[tuple[Expect, ...]] = get_args(Expect)

REFERENCE_APP: Final = "target_app:create_app"
BUILD: Final[Build] = "locked"
SERVER: Final[ServerName] = "waitress"
DRIVER: Final[DriverName] = "requests"
THREADS: Final = 16  # request threads per server process
WORKERS: Final = 1  # server processes (gunicorn workers, apache mod_wsgi daemon processes)
CLIENTS: Final = 32  # concurrent clients of the load
# The size of a run that gives neither --votes nor --duration: a few seconds on a laptop,
# and enough for the unlocked build's default window to lose votes (median: 6 votes in).
VOTES: Final = 3000
# Upper bounds of a run's size: beyond them a typo, not a load test (a thread per
# client, a vote id per vote, a timer per timeout), refused before anything starts.
MAX_CLIENTS: Final = 10_000
MAX_VOTES: Final = 1_000_000_000
MAX_TIMEOUT: Final = 3600.0
MAX_PROCESSES: Final = 256  # Locust worker processes
PROCESSES: Final = 1  # Locust worker processes
TIMEOUT: Final = 10.0  # seconds a client waits for a reply before it is an unknown outcome
CONNECT_TIMEOUT: Final = 3.0  # seconds a client waits for a connection
# Seconds a Locust worker tries to reach its master before it gives up with an error
# (Locust's own default is 5 minutes of silent retries: a typo in --master-host hangs).
MASTER_CONNECT_WAIT: Final = 15.0
# The harness's own requests (setup, final read) wait at least this long: they are
# evidence, and a loaded server may be slow to answer them.
HARNESS_TIMEOUT: Final = 10.0
# Every Nth op of a load client is a read of every counter (0: none), checked against
# Jepsen's counter bounds like the final read: a read during the run can prove a loss
# that a later tally hides.
READ_EVERY: Final = 0
# Serial requests of the load's mix sent by one client before the load: the errors a
# single client sees, so that only new ones under load count against the app. The
# default for target files with collections, stocks or calls; files of counters alone
# calibrate only when they say so (their runs stay exactly as they were).
CALIBRATE: Final = 24
MAX_CALIBRATE: Final = 1000
READY_TIMEOUT: Final = 30.0  # seconds a started target has to answer its readiness probe
# Seconds between the progress lines a run prints when its output is not a terminal (CI).
PROGRESS_EVERY: Final = 3.0
STOP_GRACE: Final = 5.0  # seconds between SIGTERM and SIGKILL when a process is stopped
# Servers that run several processes, each with its own memory (--workers > 1).
MULTIPROCESS_SERVERS: Final[tuple[ServerName, ...]] = ("gunicorn", "apache")
# Servers whose request threads --preempt's tracer reaches (threading.settrace): not
# Apache, whose mod_wsgi daemon threads are made in C, outside Python's threading.
PREEMPT_SERVERS: Final[tuple[ServerName, ...]] = ("werkzeug", "waitress", "gunicorn")
# Requests after which apache recycles a daemon process (mod_wsgi maximum-requests,
# the MPM's MaxRequestsPerChild); 0 never recycles.
MAXIMUM_REQUESTS: Final = 0
# Apache refuses to serve as root: when racecheck runs as root, the children run as
# this user (Debian's Apache user), who must be able to read Python, the venv and the app.
APACHE_USER: Final = "www-data"
# Apache's connection slots in front of the app (the worker MPM's MaxClients, as in the
# lecture's configuration): well above any --clients a run uses, so none is turned away.
APACHE_MAX_CLIENTS: Final = 300
# Seconds an idle keep-alive connection stays open on the servers racecheck starts.
# gunicorn's and mod_wsgi-express's default, 2 s, is shorter than a client thread can
# wait for the CPU on a loaded machine: the server then closes a connection just as a
# vote is sent on it, an unknown outcome (info) that says nothing about the app.
# waitress keeps them 120 s; the dev server closes after each reply.
KEEP_ALIVE_SECONDS: Final = 30

# The race window in the unlocked build: seconds between reading and writing a counter,
# or CALL_ONLY_WINDOW for no sleep at all, just a function call.
CALL_ONLY_WINDOW: Final = -1.0


# --preempt: forced thread switches between the bytecodes of the app's own code (see
# loadtests/target/preempt.py). RATE is the probability of a switch per opcode event;
# the seed drives that coin so a run can be repeated with the same density.
PREEMPT_RATE: Final = 1.0
PREEMPT_SEED: Final = 0
# The header that tags each vote with its op id, so the target's tracer can say which
# request ran which app lines.
OP_HEADER: Final = "X-Racecheck-Op"
# The tracer keeps at most this many app lines per request, and this many in all (a ring:
# the oldest requests go first), so a long run cannot grow the target without bound.
PREEMPT_TRACE_LINES_PER_REQUEST: Final = 200
PREEMPT_TRACE_MAX_LINES: Final = 400_000
# What a reply's count is: "written", the value this handler wrote (equal counts then prove
# a lost update), or "reread", a value read back after the write (equal counts prove nothing).
ReplyKind = Literal["written", "reread"]
REPLY_KINDS: Final[tuple[ReplyKind, ...]] = get_args(ReplyKind)
REPLY: Final[ReplyKind] = "written"


def preempt_rate_problem(rate: float) -> str | None:
    """Why ``rate`` is not a preemption density, or None when it is one."""
    if 0 < rate <= 1:
        return None
    return f"preempt rate {rate:g}: give a probability per opcode, above 0 and at most 1"


def race_window_problem(seconds: float) -> str | None:
    """Why ``seconds`` is not a race window, or None when it is one."""
    if seconds == CALL_ONLY_WINDOW or 0 <= seconds <= MAX_RACE_WINDOW:
        return None
    return (
        f"race window {seconds:g}: give {CALL_ONLY_WINDOW:g} (no sleep, a function call only) "
        f"or 0 to {MAX_RACE_WINDOW:g} seconds"
    )


__all__ = [
    "APACHE_MAX_CLIENTS",
    "APACHE_USER",
    "BUILD",
    "BUILDS",
    "CALIBRATE",
    "CALL_ONLY_WINDOW",
    "CLIENTS",
    "CONNECT_TIMEOUT",
    "DRIVER",
    "DRIVERS",
    "EXPECTS",
    "HARNESS_TIMEOUT",
    "KEEP_ALIVE_SECONDS",
    "MASTER_CONNECT_WAIT",
    "MAXIMUM_REQUESTS",
    "MAX_CALIBRATE",
    "MAX_RACE_WINDOW",
    "MULTIPROCESS_SERVERS",
    "OP_HEADER",
    "PREEMPT_RATE",
    "PREEMPT_SEED",
    "PREEMPT_SERVERS",
    "PREEMPT_TRACE_LINES_PER_REQUEST",
    "PREEMPT_TRACE_MAX_LINES",
    "PROCESSES",
    "PROGRESS_EVERY",
    "RACE_WINDOW",
    "READY_TIMEOUT",
    "READ_EVERY",
    "REFERENCE_APP",
    "REPLY",
    "REPLY_KINDS",
    "SERVER",
    "SERVERS",
    "THREADS",
    "TIMEOUT",
    "VOTES",
    "WORKERS",
    "Build",
    "DriverName",
    "Expect",
    "ReplyKind",
    "ServerName",
    "preempt_rate_problem",
    "race_window_problem",
]
