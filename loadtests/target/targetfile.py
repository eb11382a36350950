"""Target files: describe any Flask app's counters in TOML, no code needed.

    [target]        app = "module:attr" (or url = "http://127.0.0.1:8000"), server, threads,
                    read_every (every Nth op of a client reads the counters)
                    workers, maximum_requests (apache: recycle each process after N requests)
                    preempt = true, preempt_rate, preempt_seed, preempt_modules = [...]
    [[setup]]       requests sent once before the load, in order
    [[counters]]    name, increment, ok, returns, reply, read (see the README for every key)
    [[teardown]]    requests sent once after the load, before the final read

Every error names the key and what it expects.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests import defaults
from loadtests.defaults import MULTIPROCESS_SERVERS, SERVERS, ServerName
from loadtests.errors import TargetFileError, UsageError
from loadtests.target.preempt import Preempt
from loadtests.target.workload import Counter, Extractor, Matcher, RequestSpec, Step, Workload

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class TargetFile:
    """A parsed target file: how to host the app, and the workload to run against it."""

    path: Path
    workload: Workload
    app: str | None = None
    url: str | None = None
    server: ServerName = defaults.SERVER
    threads: int = defaults.THREADS
    workers: int = defaults.WORKERS
    env: Mapping[str, str] | None = None
    maximum_requests: int = defaults.MAXIMUM_REQUESTS
    preempt: Preempt | None = None


class _Reader:
    """Reads typed values out of one table, naming the full key in every error."""

    def __init__(self, path: Path, where: str, table: Any, allowed: set[str]) -> None:
        self.path, self.where = path, where
        if not isinstance(table, Mapping):
            self.fail("", f"expected a table, got {type(table).__name__}")
        self.table: Mapping[str, Any] = table
        unknown = sorted(set(table) - allowed)
        if unknown:
            self.fail(unknown[0], f"unknown key; expected one of {', '.join(sorted(allowed))}")

    def fail(self, key: str, message: str) -> None:
        name = f"{self.where}.{key}" if key else self.where
        raise TargetFileError(f"{self.path}: {name}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        if key not in self.table:
            return default
        value = self.table[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            self.fail(key, f"expected {names}, got {value!r}")
        return value

    def need(self, key: str, kind: type | tuple[type, ...]) -> Any:
        if key not in self.table:
            self.fail(key, "is required")
        return self.get(key, kind)

    def sub(self, key: str, allowed: set[str]) -> _Reader | None:
        if key not in self.table:
            return None
        return _Reader(self.path, f"{self.where}.{key}", self.table[key], allowed)


def _request(reader: _Reader) -> RequestSpec:
    method = reader.get("method", str, "POST").upper()
    if method not in METHODS:
        reader.fail("method", f"expected one of {', '.join(METHODS)}, got {method!r}")
    path = reader.need("path", str)
    if not path.startswith("/"):
        reader.fail("path", f"must start with '/', got {path!r}")
    form = reader.get("form", dict)
    json = reader.get("json", (dict, list))
    if form is not None and json is not None:
        reader.fail("form", "give form or json, not both")
    if form is not None:
        form = {str(k): str(v) for k, v in form.items()}
    return RequestSpec(method, path, json=json, form=form)


def _read_request(reader: _Reader) -> RequestSpec:
    method = reader.get("method", str, "GET").upper()
    if method not in METHODS:
        reader.fail("method", f"expected one of {', '.join(METHODS)}, got {method!r}")
    path = reader.need("path", str)
    if not path.startswith("/"):
        reader.fail("path", f"must start with '/', got {path!r}")
    return RequestSpec(method, path)


def _extractor(reader: _Reader) -> Extractor:
    json_path = reader.get("json", str)
    regex = reader.get("regex", str)
    if (json_path is None) == (regex is None):
        # The table itself is at fault, so name it (not "read.read").
        reader.fail("", 'give exactly one of json = "field" or regex = "...(\\\\d+)..."')
    if regex is not None:
        try:
            groups = re.compile(regex).groups
        except (re.error, OverflowError, RecursionError) as exc:
            # The re module raises more than re.error for some patterns: a{4294967296}
            # overflows, and deeply nested groups exhaust the parser's recursion.
            reader.fail("regex", f"is not a valid regular expression: {exc}")
        if groups != 1:
            reader.fail("regex", f"needs exactly one group (...), found {groups}")
    return Extractor(json=json_path, regex=regex)


def _matcher(reader: _Reader | None) -> Matcher:
    if reader is None:
        return Matcher()
    status = reader.get("status", int)
    if status is not None and not 200 <= status < 300:
        reader.fail("status", f"an acknowledgement is a 2xx status, got {status}")
    return Matcher(status=status, contains=reader.get("contains", str))


def _step(path: Path, where: str, raw: Any, f: str) -> Step:
    reader = _Reader(path, where, raw, {"method", "path", "form", "json", "ok"})
    return Step(f, _request(reader), _matcher(reader.sub("ok", {"status", "contains"})))


def _counter(path: Path, where: str, raw: Any) -> Counter:
    keys = {"name", "increment", "ok", "returns", "read", "pid", "reply"}
    reader = _Reader(path, where, raw, keys)
    name = reader.need("name", str)
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
        reader.fail("name", "use 1-64 letters, digits, '_', '.' or '-'")
    increment = reader.sub("increment", {"method", "path", "form", "json"})
    if increment is None:
        reader.fail("increment", 'is required: { method = "POST", path = "/like" }')
    read = reader.sub("read", {"method", "path", "json", "regex"})
    if read is None:
        reader.fail("read", 'is required: { method = "GET", path = "/likes", json = "a" }')
    assert increment is not None and read is not None
    read_request = _read_request(read)
    returns = reader.sub("returns", {"json", "regex"})
    pid = reader.sub("pid", {"json", "regex"})
    reply = reader.get("reply", str, defaults.REPLY)
    if reply not in defaults.REPLY_KINDS:
        reader.fail(
            "reply",
            f'expected "written" (the reply carries the value this handler wrote) or '
            f'"reread" (it reads the counter back after writing), got {reply!r}',
        )
    return Counter(
        name=name,
        increment=_request(increment),
        read=read_request,
        read_value=_extractor(read),
        ok=_matcher(reader.sub("ok", {"status", "contains"})),
        returns=_extractor(returns) if returns is not None else None,
        pid=_extractor(pid) if pid is not None else None,
        reply=reply,
    )


def load(path: Path) -> TargetFile:
    """Parse and validate a target file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetFileError(f"{path}: no such target file") from None
    except OSError as exc:  # a directory, no permission, ...
        raise TargetFileError(f"{path}: cannot read the target file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise TargetFileError(f"{path}: not UTF-8 text (TOML files must be): {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TargetFileError(f"{path}: not valid TOML: {exc}") from None
    top = _Reader(path, "file", raw, {"target", "setup", "counters", "teardown"})
    target = _Reader(
        path,
        "target",
        raw.get("target", {}),
        {
            "app",
            "url",
            "server",
            "threads",
            "workers",
            "maximum_requests",
            "health",
            "env",
            "shared_state",
            "name",
            "read_every",
        }
        | PREEMPT_KEYS,
    )
    app, url = target.get("app", str), target.get("url", str)
    if (app is None) == (url is None):
        target.fail("app", 'give exactly one of app = "module:attr" or url = "http://..."')
    if app is not None and ":" not in app:
        target.fail("app", f'expected "module:attr" (e.g. "likes:create_app"), got {app!r}')
    server = target.get("server", str, defaults.SERVER)
    if server not in SERVERS:
        target.fail("server", f"expected one of {', '.join(SERVERS)}, got {server!r}")
    threads, workers = (
        target.get("threads", int, defaults.THREADS),
        target.get("workers", int, defaults.WORKERS),
    )
    if threads < 1:
        target.fail("threads", f"must be at least 1, got {threads}")
    if workers < 1:
        target.fail("workers", f"must be at least 1, got {workers}")
    if workers > 1 and server not in MULTIPROCESS_SERVERS:
        # Refused here so the message names the key; the launcher would refuse it too.
        needs = " or ".join(f'"{name}"' for name in MULTIPROCESS_SERVERS)
        target.fail("workers", f"{server} runs one process; workers > 1 needs server = {needs}")
    read_every = target.get("read_every", int, defaults.READ_EVERY)
    if read_every < 0 or isinstance(read_every, bool):
        target.fail("read_every", f"must be 0 (no reads) or a positive integer, got {read_every}")
    maximum_requests = target.get("maximum_requests", int, defaults.MAXIMUM_REQUESTS)
    if maximum_requests < 0:
        target.fail(
            "maximum_requests", f"must be 0 (never recycle) or more, got {maximum_requests}"
        )
    if maximum_requests and server != "apache":
        target.fail(
            "maximum_requests", 'recycles mod_wsgi daemon processes: needs server = "apache"'
        )
    health = target.get("health", str)
    if health is not None and not health.startswith("/"):
        target.fail("health", f"must start with '/', got {health!r}")
    counters_raw = top.get("counters", list, [])
    if not counters_raw:
        top.fail("counters", "at least one [[counters]] table is required")
    counters = tuple(_counter(path, f"counters[{i}]", c) for i, c in enumerate(counters_raw))
    names = [c.name for c in counters]
    if len(set(names)) != len(names):
        top.fail("counters", f"counter names must be unique, got {names}")
    setup = tuple(
        _step(path, f"setup[{i}]", s, "setup") for i, s in enumerate(top.get("setup", list, []))
    )
    teardown = tuple(
        _step(path, f"teardown[{i}]", s, "teardown")
        for i, s in enumerate(top.get("teardown", list, []))
    )
    env = target.get("env", dict)
    for key, value in (env or {}).items():
        # Environment variables are strings; a table or an array there is a mistake.
        if not isinstance(value, str | int | float):
            target.fail(f"env.{key}", f"expected a string (or number), got {value!r}")
        # The OS cannot pass these on: an empty name, "=" in a name, NUL anywhere.
        if not key or "=" in key or "\0" in key:
            target.fail(f"env.{key!r}", "an environment variable name has no '=' or NUL in it")
        if "\0" in str(value):
            target.fail(f"env.{key}", "an environment variable's value cannot hold a NUL")
    workload = Workload(
        name=target.get("name", str, path.stem),
        counters=counters,
        setup=setup,
        teardown=teardown,
        shared_state=target.get("shared_state", bool, False),
        health_path=health,
        read_every=read_every,
    )
    preempt = _preempt(target)
    if preempt is not None and url is not None:
        target.fail("preempt", "forces switches inside a target racecheck starts; drop url or it")
    return TargetFile(
        path=path,
        workload=workload,
        app=app,
        url=url,
        server=server,
        threads=threads,
        workers=workers,
        env={str(k): str(v) for k, v in env.items()} if env else None,
        maximum_requests=maximum_requests,
        preempt=preempt,
    )


PREEMPT_KEYS = {"preempt", "preempt_rate", "preempt_seed", "preempt_modules"}


def _preempt(target: _Reader) -> Preempt | None:
    """``preempt = true`` and its knobs under [target]; None when off."""
    if not target.get("preempt", bool, False):
        extra = sorted(PREEMPT_KEYS & set(target.table) - {"preempt"})
        if extra:
            target.fail(extra[0], "only applies with preempt = true")
        return None
    modules = target.get("preempt_modules", list, [])
    if not all(isinstance(m, str) for m in modules):
        target.fail("preempt_modules", f"expected a list of module names, got {modules!r}")
    rate = target.get("preempt_rate", (int, float), defaults.PREEMPT_RATE)
    try:
        return Preempt(
            rate=float(rate),
            seed=target.get("preempt_seed", int, defaults.PREEMPT_SEED),
            modules=tuple(modules),
        )
    except UsageError as exc:
        target.fail("preempt", str(exc))
        raise  # fail() raised already; this satisfies the type checker
