"""Target files: describe any Flask app's counters in TOML, no code needed.

    [target]        app = "module:attr" (or url = "http://127.0.0.1:8000"), server, threads,
                    read_every (every Nth op of a client reads the counters)
                    workers, maximum_requests (apache: recycle each process after N requests)
                    preempt = true, preempt_rate, preempt_seed, preempt_modules = [...]
    [[setup]]       requests sent once before the load, in order
    [[counters]]    name, increment, ok, returns, reply, read (see the README for every key)
    [[teardown]]    requests sent once after the load, before the final read
    [[collections]], [[stocks]], [[calls]], and calibrate / expect under [target]: the
                    invariants beyond counters (docs/targets.md#beyond-counters)

Every error names the key and what it expects.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests import defaults
from loadtests.defaults import MULTIPROCESS_SERVERS, SERVERS, ServerName
from loadtests.errors import TargetFileError, UsageError
from loadtests.target import variables
from loadtests.target.preempt import Preempt
from loadtests.target.workload import (
    OP_ID,
    PLACEHOLDERS,
    Call,
    Collection,
    Counter,
    Extractor,
    Extras,
    Matcher,
    Members,
    RequestSpec,
    Step,
    Stock,
    Workload,
)

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
    # [[reset]] commands, run in the file's folder before the app starts (run/reset.py).
    reset_commands: tuple[str, ...] = ()
    # The app's working directory (default: the file's folder) and its own interpreter.
    cwd: Path | None = None
    python: Path | None = None


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
    return RequestSpec(method, path, json=json, form=form, headers=_headers(reader))


def _headers(reader: _Reader) -> dict[str, str] | None:
    headers = reader.get("headers", dict)
    if headers is None:
        return None
    for key, value in headers.items():
        if not isinstance(value, str):
            reader.fail(f"headers.{key}", f"expected a string, got {value!r}")
    return dict(headers)


def _extracts(reader: _Reader) -> dict[str, Extractor] | None:
    table = reader.get("extract", dict)
    if table is None:
        return None
    out = {}
    for name in table:
        if not variables.NAME.fullmatch(name) or name in variables.RESERVED:
            reader.fail(f"extract.{name}", "a variable name: letters, digits and _, not op_id")
        sub = reader.sub("extract", set(table))
        assert sub is not None
        out[name] = _extractor(
            _Reader(reader.path, f"{sub.where}.{name}", table[name], {"json", "regex"})
        )
    return out


def _read_request(reader: _Reader) -> RequestSpec:
    method = reader.get("method", str, "GET").upper()
    if method not in METHODS:
        reader.fail("method", f"expected one of {', '.join(METHODS)}, got {method!r}")
    path = reader.need("path", str)
    if not path.startswith("/"):
        reader.fail("path", f"must start with '/', got {path!r}")
    return RequestSpec(method, path, headers=_headers(reader))


def _extractor(reader: _Reader) -> Extractor:
    json_path = reader.get("json", str)
    regex = reader.get("regex", str)
    if json_path is not None and "[" in json_path:
        # posts[0].likes is JavaScript's spelling; the dotted path indexes with digits.
        dotted = re.sub(r"\[(\d+)\]", r".\1", json_path)
        reader.fail("json", f"use a dotted path, e.g. {dotted!r} (digits index arrays)")
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
    keys = {"method", "path", "form", "json", "ok", "headers", "extract"}
    reader = _Reader(path, where, raw, keys)
    return Step(
        f,
        _request(reader),
        _matcher(reader.sub("ok", {"status", "contains"})),
        extract=_extracts(reader),
    )


def _counter(path: Path, where: str, raw: Any) -> Counter:
    keys = {"name", "increment", "ok", "returns", "read", "pid", "reply", "refused"}
    reader = _Reader(path, where, raw, keys)
    name = reader.need("name", str)
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
        reader.fail("name", "use 1-64 letters, digits, '_', '.' or '-'")
    increment = reader.sub("increment", {"method", "path", "form", "json", "headers"})
    if increment is None:
        reader.fail("increment", 'is required: { method = "POST", path = "/like" }')
    read = reader.sub("read", {"method", "path", "json", "regex", "increments", "headers"})
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
    increments = read.get("increments", int, 0)
    if increments < 0:
        read.fail("increments", f"what one read adds to the counter: 0 or more, got {increments}")
    refused = reader.sub("refused", {"status", "contains"})
    return Counter(
        read_increments=increments,
        refused=_matcher(refused) if refused is not None else None,
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
    top = _Reader(
        path,
        "file",
        raw,
        {"target", "setup", "counters", "teardown", "login", "reset"} | EXTRA_TABLES,
    )
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
            "preflight",
            "session",
            "cwd",
            "python",
        }
        | PREEMPT_KEYS
        | EXTRA_TARGET_KEYS,
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
    extras = _extras(path, top, target)
    if not counters_raw and not extras.names:
        top.fail("counters", "at least one [[counters]] table is required")
    counters = tuple(_counter(path, f"counters[{i}]", c) for i, c in enumerate(counters_raw))
    names = [c.name for c in counters]
    if len(set(names)) != len(names):
        top.fail("counters", f"counter names must be unique, got {names}")
    if len(set(names + list(extras.names))) != len(names) + len(extras.names):
        top.fail("counters", f"op names must be unique, got {names + list(extras.names)}")
    setup = tuple(
        _step(path, f"setup[{i}]", s, "setup") for i, s in enumerate(top.get("setup", list, []))
    )
    teardown = tuple(
        _step(path, f"teardown[{i}]", s, "teardown")
        for i, s in enumerate(top.get("teardown", list, []))
    )
    login = tuple(
        _step(path, f"login[{i}]", s, "login") for i, s in enumerate(top.get("login", list, []))
    )
    session = target.get("session", str, "per-client")
    if session not in SESSIONS:
        target.fail("session", f'expected "per-client" or "shared", got {session!r}')
    _check_placeholders(top, setup, login, counters, teardown)
    # Then every other string of the file (matchers, elements, echo values, extras).
    _placeholders(path, raw, PLACEHOLDERS | _extracted(raw))
    reset_steps, reset_commands = _reset(path, top.get("reset", list, []))
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
    if read_every and any(c.read_increments for c in counters):
        target.fail(
            "read_every",
            "reads during the load would change the counters they read (read.increments);"
            " use read_every = 0",
        )
    workload = Workload(
        name=target.get("name", str, path.stem),
        counters=counters,
        setup=setup,
        teardown=teardown,
        shared_state=target.get("shared_state", bool, False),
        health_path=health,
        read_every=read_every,
        extras=extras,
        preflight=target.get("preflight", bool, True),
        login=login,
        session=session,
        reset=reset_steps,
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
        reset_commands=reset_commands,
        cwd=_folder(target, "cwd", path),
        python=_python(target, path, server),
    )


def _reset(path: Path, raw: list[Any]) -> tuple[tuple[Step, ...], tuple[str, ...]]:
    """[[reset]] entries: each a command = "..." or a request, kept in their two kinds."""
    steps, commands = [], []
    for i, entry in enumerate(raw):
        where = f"reset[{i}]"
        if isinstance(entry, dict) and "command" in entry:
            reader = _Reader(path, where, entry, {"command"})
            command = reader.need("command", str)
            if not command.strip():
                reader.fail("command", "is empty; give a shell command, e.g. 'rm -f app.db'")
            commands.append(command)
        else:
            steps.append(_step(path, where, entry, "reset"))
    return tuple(steps), tuple(commands)


def _folder(target: _Reader, key: str, path: Path) -> Path | None:
    value = target.get(key, str)
    if value is None:
        return None
    folder: Path = (path.resolve().parent / value).resolve()
    if not folder.is_dir():
        target.fail(key, f"{folder} is not a folder (relative paths start at the file's folder)")
    return folder


def _python(target: _Reader, path: Path, server: str) -> Path | None:
    value = target.get("python", str)
    if value is None:
        return None
    if server == "apache":
        target.fail("python", "mod_wsgi runs the app in Apache's own Python; drop python")
    if target.get("url", str) is not None:
        target.fail("python", "runs an app racecheck starts; drop url or python")
    # Not resolved: a venv's python is a symlink, and following it would leave the venv.
    python = Path(os.path.normpath(path.resolve().parent / value))
    if not (python.is_file() and os.access(python, os.X_OK)):
        target.fail(
            "python",
            f"{python} is not an executable file; name the app's interpreter, e.g."
            ' python = ".venv/bin/python" (relative to the file\'s folder)',
        )
    return python


PREEMPT_KEYS = {"preempt", "preempt_rate", "preempt_seed", "preempt_modules"}
SESSIONS = ("per-client", "shared")


def _check_placeholders(
    top: _Reader,
    setup: tuple[Step, ...],
    login: tuple[Step, ...],
    counters: tuple[Counter, ...],
    teardown: tuple[Step, ...],
) -> None:
    """Every ``{name}`` in a request is op_id or a variable some step extracts."""
    known = set(variables.RESERVED)
    for step in (*login, *setup):
        known |= set(step.extract or {})
    requests = [
        *((f"login[{i}]", s.request) for i, s in enumerate(login)),
        *((f"setup[{i}]", s.request) for i, s in enumerate(setup)),
        *((f"counters[{i}].increment", c.increment) for i, c in enumerate(counters)),
        *((f"counters[{i}].read", c.read) for i, c in enumerate(counters)),
        *((f"teardown[{i}]", s.request) for i, s in enumerate(teardown)),
    ]
    for where, request in requests:
        unknown = sorted(variables.placeholders(request) - known)
        if unknown:
            top.fail(
                where,
                f"uses {{{unknown[0]}}}, which no step extracts; add"
                f" extract = {{ {unknown[0]} = {{ regex = '...(...)...' }} }} to a [[login]]"
                " or [[setup]] step before it",
            )


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


# Beyond counters (issue 12): collections, stocks, plain calls and the errors check.
EXTRA_TABLES = {"collections", "stocks", "calls"}
EXTRA_TARGET_KEYS = {"calibrate", "expect"}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _extracted(raw: Any) -> set[str]:
    """The variables [[login]] and [[setup]] steps extract (``extract = { name = ... }``)."""
    names: set[str] = set()
    if isinstance(raw, Mapping):
        for table in ("login", "setup"):
            steps = raw.get(table)
            for step in steps if isinstance(steps, list) else ():
                extract = step.get("extract") if isinstance(step, Mapping) else None
                if isinstance(extract, Mapping):
                    names |= {str(key) for key in extract}
    return names


def _placeholders(path: Path, raw: Any, known: Set[str], where: str = "file") -> None:
    """Refuse ``{name}`` for any name racecheck does not fill in: it would be sent as is."""
    if isinstance(raw, str):
        for name in _PLACEHOLDER.findall(raw):
            if name not in known:
                filled = ", ".join("{" + p + "}" for p in sorted(known))
                raise TargetFileError(
                    f"{path}: {where}: unknown placeholder {{{name}}}; racecheck fills in"
                    f" {filled} (a variable needs extract = {{ {name} = {{ regex = '...' }} }}"
                    " on a [[login]] or [[setup]] step)"
                )
    elif isinstance(raw, Mapping):
        for key, value in raw.items():
            _placeholders(path, value, known, f"{where}.{key}" if where != "file" else str(key))
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            _placeholders(path, value, known, f"{where}[{i}]")


def _members(reader: _Reader) -> Members:
    # The same keys as an extractor's: a dotted JSON path ("*" maps over lists) or a regex
    # with one group, whose every match is a member.
    extractor = _extractor(reader)
    return Members(json=extractor.json, regex=extractor.regex)


def _name(reader: _Reader) -> str:
    name: str = reader.need("name", str)
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
        reader.fail("name", "use 1-64 letters, digits, '_', '.' or '-'")
    return name


def _optional_extractor(reader: _Reader, key: str) -> Extractor | None:
    sub = reader.sub(key, {"json", "regex"})
    return _extractor(sub) if sub is not None else None


_SENT = frozenset({"method", "path", "form", "json"})  # the keys of a request racecheck sends
_READ = frozenset({"method", "path", "json", "regex"})  # ... and of a read, with its extractor


def _required(reader: _Reader, key: str, keys: frozenset[str], example: str) -> _Reader:
    """The table ``key`` of ``reader``, which must be there (else a usage error with an example)."""
    sub = reader.sub(key, set(keys))
    if sub is None:
        reader.fail(key, f"is required: {example}")
    assert sub is not None  # fail() raises
    return sub


def _collection(path: Path, where: str, raw: Any) -> Collection:
    keys = {"name", "add", "ok", "element", "read", "id", "echo"}
    reader = _Reader(path, where, raw, keys)
    name = _name(reader)
    add = _required(reader, "add", _SENT, '{ method = "POST", path = "/tasks", json = {...} }')
    element = reader.get("element", str, OP_ID)
    if OP_ID not in element:
        reader.fail("element", f"must contain {OP_ID}, so that every add carries its own value")
    read = reader.sub("read", set(_READ))
    id_ = _optional_extractor(reader, "id")
    if read is None and id_ is None:
        reader.fail("read", 'or id is required: read = { path = "/tasks", json = "*.title" }')
    return Collection(
        name=name,
        add=_request(add),
        ok=_matcher(reader.sub("ok", {"status", "contains"})),
        element=element,
        read=_read_request(read) if read is not None else None,
        members=_members(read) if read is not None else None,
        id=id_,
        echo=_optional_extractor(reader, "echo"),
    )


def _stock(path: Path, where: str, raw: Any) -> Stock:
    keys = {"name", "decrement", "ok", "refused", "read", "floor", "echo"}
    reader = _Reader(path, where, raw, keys)
    name = _name(reader)
    decrement = _required(reader, "decrement", _SENT, '{ method = "POST", path = "/buy" }')
    read = _required(reader, "read", _READ, '{ path = "/stock", json = "stock" }')
    refused = reader.get("refused", str)
    if refused == "":
        reader.fail("refused", "must not be empty (every reply would be a refusal)")
    return Stock(
        name=name,
        decrement=_request(decrement),
        read=_read_request(read),
        read_value=_extractor(read),
        ok=_matcher(reader.sub("ok", {"status", "contains"})),
        refused=refused,
        floor=reader.get("floor", int, 0),
        echo=_optional_extractor(reader, "echo"),
    )


def _call(path: Path, where: str, raw: Any) -> Call:
    keys = {"name", "request", "ok", "echo", "echo_value"}
    reader = _Reader(path, where, raw, keys)
    name = _name(reader)
    request = _required(
        reader, "request", _SENT, '{ method = "POST", path = "/greet", form = {...} }'
    )
    echo_value = reader.get("echo_value", str, OP_ID)
    if OP_ID not in echo_value:
        reader.fail("echo_value", f"must contain {OP_ID}: it tells each reply from the others")
    return Call(
        name=name,
        request=_request(request),
        ok=_matcher(reader.sub("ok", {"status", "contains"})),
        echo=_optional_extractor(reader, "echo"),
        echo_value=echo_value,
    )


def _extras(path: Path, top: _Reader, target: _Reader) -> Extras:
    """The [[collections]], [[stocks]] and [[calls]] tables, and [target] calibrate/expect."""
    beyond = any(top.get(table, list, []) for table in sorted(EXTRA_TABLES))
    calibrate = target.get("calibrate", int, defaults.CALIBRATE if beyond else 0)
    if calibrate < 0 or calibrate > defaults.MAX_CALIBRATE:
        target.fail("calibrate", f"must be 0 (off) to {defaults.MAX_CALIBRATE}, got {calibrate}")
    expect = target.get("expect", str)
    if expect not in (None, "all-ok"):
        target.fail("expect", f'the only expectation is "all-ok", got {expect!r}')
    return Extras(
        collections=tuple(
            _collection(path, f"collections[{i}]", c)
            for i, c in enumerate(top.get("collections", list, []))
        ),
        stocks=tuple(
            _stock(path, f"stocks[{i}]", s) for i, s in enumerate(top.get("stocks", list, []))
        ),
        calls=tuple(
            _call(path, f"calls[{i}]", c) for i, c in enumerate(top.get("calls", list, []))
        ),
        calibrate=calibrate,
        all_ok=expect == "all-ok",
    )
