"""Bad input, fuzzed: broken target files and bad option combinations are refused cleanly.

The rule for every case: exit 2 (or TargetFileError from the loader) with a message
that names the bad key or flag, never a traceback, and nothing started: no target,
no run directory, not one connection.
"""

from __future__ import annotations

import math
import socket
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, example, given, settings

from loadtests.cli import main
from loadtests.errors import TargetFileError
from loadtests.run import execute as run_module
from loadtests.target import targetfile

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a command gets as far as starting anything or connecting anywhere."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"started something it should have refused: {args!r}")

    monkeypatch.setattr(run_module, "start_target", forbidden)
    monkeypatch.setattr(run_module, "new_run_dir", forbidden)
    monkeypatch.setattr(socket.socket, "connect", forbidden)


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(main, args, catch_exceptions=True)


def assert_refused(result: Result, names: set[str]) -> None:
    """Exit 2 through racecheck's own error path, naming one of ``names``."""
    assert not isinstance(result.exception, AssertionError), result.exception
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert any(name in result.output for name in names), (names, result.output)


# -- TOML, written by the test ---------------------------------------------------------------


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = (
        f"\\u{ord(ch):04x}"
        if ord(ch) < 0x20 or ord(ch) == 0x7F
        else "\\" + ch
        if ch in '"\\'
        else ch
        for ch in text
    )
    return '"' + "".join(escaped) + '"'


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return (
        "{" + ", ".join(f"{toml_string(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    )


def toml_document(doc: dict[str, Any]) -> str:
    """Top-level keys, then tables, then arrays of tables; nested tables inline."""
    lines = [f"{toml_string(k)} = {toml_value(v)}" for k, v in doc.items() if not _is_table(v)]
    for key, value in doc.items():
        if isinstance(value, dict):
            lines.append(f"[{toml_string(key)}]")
            lines += [f"{toml_string(str(k))} = {toml_value(v)}" for k, v in value.items()]
        elif _is_table_array(value):
            for table in value:
                lines.append(f"[[{toml_string(key)}]]")
                lines += [f"{toml_string(str(k))} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) or _is_table_array(value)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def valid_document() -> dict[str, Any]:
    return {
        "target": {"app": "likes:create_app", "server": "waitress", "threads": 4, "workers": 1},
        "setup": [{"method": "POST", "path": "/start", "form": {"submit": "START"}}],
        "counters": [
            {
                "name": "a",
                "increment": {"method": "POST", "path": "/like/a", "json": {"id": "{op_id}"}},
                "ok": {"status": 200, "contains": "liked"},
                "returns": {"json": "likes"},
                "read": {"method": "GET", "path": "/likes", "json": "a"},
            }
        ],
        "teardown": [{"method": "POST", "path": "/stop"}],
    }


def test_the_writer_round_trips_the_valid_document(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(toml_document(valid_document()))
    assert targetfile.load(path).app == "likes:create_app"


# -- one mutation of a valid file, and the key it must name ----------------------------------

# (where in the document, the key, a strategy of values of the wrong kind)
scalars = st.one_of(st.integers(), st.booleans(), st.floats(allow_nan=False), st.text(max_size=8))
not_str = st.one_of(
    st.integers(), st.booleans(), st.floats(allow_nan=False), st.lists(st.integers(), max_size=2)
)
not_int = st.one_of(
    st.text(max_size=8),
    st.booleans(),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=2),
)
not_table = st.one_of(st.integers(), st.text(max_size=8), st.lists(st.integers(), max_size=2))
WRONG_TYPES = [
    (("target",), "app", not_str, "target.app"),
    (("target",), "server", not_str, "target.server"),
    (("target",), "threads", not_int, "target.threads"),
    (("target",), "workers", not_int, "target.workers"),
    ((), "target", not_table, "target"),
    ((), "counters", st.one_of(st.integers(), st.text(max_size=4)), "counters"),
    (("counters", 0), "name", not_str, "counters[0].name"),
    (("counters", 0), "increment", not_table, "counters[0].increment"),
    (("counters", 0), "read", not_table, "counters[0].read"),
    (("counters", 0, "increment"), "path", not_str, "counters[0].increment.path"),
    (("counters", 0, "increment"), "method", not_str, "counters[0].increment.method"),
    (("counters", 0, "read"), "json", not_str, "counters[0].read.json"),
    (("counters", 0, "ok"), "status", not_int, "counters[0].ok.status"),
    (("counters", 0, "returns"), "json", not_str, "counters[0].returns.json"),
    (("setup", 0), "path", not_str, "setup[0].path"),
    (("teardown", 0), "method", not_str, "teardown[0].method"),
]
BAD_VALUES = [
    (("target",), "server", st.sampled_from(["uwsgi", "", "Waitress "]), "target.server"),
    (("target",), "threads", st.integers(max_value=0), "target.threads"),
    (("target",), "app", st.text(max_size=12).filter(lambda s: ":" not in s), "target.app"),
    (("counters", 0), "name", st.sampled_from(["", "a b", "x" * 65, "ü"]), "counters[0].name"),
    (("counters", 0, "increment"), "method", st.sampled_from(["FETCH", "", "post "]), "method"),
    (
        ("counters", 0, "increment"),
        "path",
        st.text(max_size=8).filter(lambda s: not s.startswith("/")),
        "path",
    ),
    (("counters", 0, "ok"), "status", st.integers().filter(lambda n: not 200 <= n < 300), "status"),
    (
        ("counters", 0, "read"),
        "regex",
        st.sampled_from(["(", "a", "(a)(b)", "a{4294967296}", "(" * 500 + ")" * 500]),
        "counters[0].read",
    ),
]
REQUIRED = [
    (("counters", 0), "name", "counters[0].name"),
    (("counters", 0), "increment", "counters[0].increment"),
    (("counters", 0), "read", "counters[0].read"),
    (("counters", 0, "increment"), "path", "counters[0].increment.path"),
    (("counters", 0, "read"), "path", "counters[0].read.path"),
    (("target",), "app", "target.app"),
    ((), "counters", "counters"),
]
TABLES = [
    (),
    ("target",),
    ("counters", 0),
    ("counters", 0, "increment"),
    ("counters", 0, "read"),
    ("counters", 0, "ok"),
    ("setup", 0),
]


def _at(doc: dict[str, Any], where: tuple[Any, ...]) -> Any:
    node: Any = doc
    for step in where:
        node = node[step]
    return node


@st.composite
def broken_documents(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid document with one thing wrong, and the key path the error must name."""
    doc = valid_document()
    kind = draw(st.sampled_from(["type", "value", "missing", "unknown"]))
    if kind == "type":
        where, key, values, names = draw(st.sampled_from(WRONG_TYPES))
        _at(doc, where)[key] = draw(values)
    elif kind == "value":
        where, key, values, names = draw(st.sampled_from(BAD_VALUES))
        table = _at(doc, where)
        if key == "regex":
            del table["json"]  # a read takes json or regex: test the regex alone
        table[key] = draw(values)
    elif kind == "missing":
        where, key, names = draw(st.sampled_from(REQUIRED))
        del _at(doc, where)[key]
    else:
        where = draw(st.sampled_from(TABLES))
        key = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10))
        if key in KNOWN_KEYS:
            key += "_x"
        _at(doc, where)[key] = draw(scalars)
        names = key
    return doc, names


# Every key the loader knows somewhere: an "unknown" key must be unknown everywhere.
KNOWN_KEYS = {
    *("target", "setup", "counters", "teardown", "app", "url", "server", "threads", "workers"),
    *("health", "env", "shared_state", "name", "method", "path", "form", "json", "ok"),
    *("status", "contains", "increment", "read", "returns", "pid", "regex"),
}


@FUZZ
@given(case=broken_documents())
def test_a_broken_target_file_names_its_bad_key(
    tmp_path: Path, case: tuple[dict[str, Any], str]
) -> None:
    doc, names = case
    path = tmp_path / "broken.toml"
    path.write_text(toml_document(doc))
    with pytest.raises(TargetFileError) as refused:
        targetfile.load(path)
    assert str(refused.value).startswith(f"{path}: ")
    assert names in str(refused.value), (names, str(refused.value))


@FUZZ
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
@example(data=b"\xff\xfe[target]")
@example(data=b"[target]\napp = 'a:b'\n[[counters]]\nname = 'a'\n")
def test_any_bytes_are_a_target_file_or_a_target_file_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "any.toml"
    path.write_bytes(data)
    try:
        targetfile.load(path)
    except TargetFileError as exc:
        assert str(exc).startswith(f"{path}: ")


# Documents made of the real keys with values of any kind: deep inside the loader.
KEYS = [
    "app",
    "url",
    "server",
    "threads",
    "workers",
    "health",
    "env",
    "name",
    "method",
    "path",
    "form",
    "json",
    "regex",
    "ok",
    "status",
    "contains",
    "increment",
    "read",
    "returns",
    "pid",
]
leaves = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.floats(),
    st.text(max_size=10),
    st.sampled_from(["/a", "GET", "POST", "a:b", "gunicorn", "(\\d+)", "http://127.0.0.1:1"]),
)
tables = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=20,
)
documents = st.fixed_dictionaries(
    {},
    optional={
        "target": st.dictionaries(st.sampled_from(KEYS), tables, max_size=5),
        "counters": st.lists(
            st.dictionaries(st.sampled_from(KEYS), tables, max_size=6), max_size=2
        ),
        "setup": st.lists(st.dictionaries(st.sampled_from(KEYS), tables, max_size=4), max_size=2),
    },
)


@FUZZ
@given(doc=documents)
def test_any_document_of_real_keys_loads_or_is_refused(tmp_path: Path, doc: dict[str, Any]) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(toml_document(doc))
    try:
        targetfile.load(path)
    except TargetFileError as exc:
        assert str(exc).startswith(f"{path}: ")


@settings(FUZZ, max_examples=40)
@given(case=broken_documents())
def test_the_cli_refuses_a_broken_target_file_with_exit_2(
    tmp_path: Path, nothing_starts: None, case: tuple[dict[str, Any], str]
) -> None:
    doc, names = case
    path = tmp_path / "broken.toml"
    path.write_text(toml_document(doc))
    assert_refused(invoke(["run", "--votes", "5", "--target", str(path)]), {names})


# -- option combinations ------------------------------------------------------------------------

GOOD: dict[str, list[str]] = {
    "--build": ["locked", "unlocked", "sqlite"],
    "--server": ["werkzeug", "waitress", "gunicorn"],
    "--threads": ["4"],
    "--clients": ["3"],
    "--driver": ["requests"],
    "--timeout": ["2.5"],
    "--seed": ["7"],
    "--expect": ["pass", "violation"],
    "--nemesis": ["reset-connections"],
    "--burst": [],
}
# flag -> (bad arguments, what the message may name)
BAD: dict[str, tuple[list[list[str]], set[str]]] = {
    "--build": ([["racy"], [""]], {"--build"}),
    "--server": ([["uwsgi"]], {"--server"}),
    "--threads": ([["0"], ["-2"], ["many"]], {"--threads"}),
    "--workers": ([["0"], ["x"]], {"--workers"}),
    "--driver": ([["curl"]], {"--driver"}),
    "--clients": ([["0"], ["1.5"]], {"--clients"}),
    "--votes": ([["0"], ["-1"], ["ten"]], {"--votes"}),
    "--duration": ([["0"], ["-3"], ["soon"], ["inf"], ["1e9"]], {"--duration"}),
    "--timeout": ([["0"], ["-1"], ["never"]], {"--timeout"}),
    "--expect": ([["maybe"]], {"--expect"}),
    "--processes": ([["0"], ["2"]], {"--processes"}),
    "--race-window": ([["-2"], ["-0.5"], ["61"], ["wide"]], {"--race-window"}),
    "--switch-interval": ([["0"], ["-1"]], {"--switch-interval"}),
    "--seed": ([["abc"]], {"--seed"}),
    "--nemesis": ([["partition"], ["STALL"]], {"--nemesis"}),
    "--nemesis-schedule": ([["at=soon"], ["every=0"], ["at"], ["when=1"]], {"--nemesis-schedule"}),
    "--target-url": (
        [["ftp://x"], ["http://192.0.2.1:80"], ["http://127.0.0.1:99999"], ["not a url"]],
        {"--target-url", "--allow-remote"},
    ),
    "--target": ([["/nonexistent/racecheck/target.toml"]], {"target file"}),
    "--app": ([["no_colon_here"]], {"module:name", "--app"}),
    "--frobnicate": ([[]], {"No such option"}),
    "EXTRA": ([["stray"]], {"unexpected extra argument"}),
}


@st.composite
def bad_command_lines(draw: st.DrawFn) -> tuple[list[str], set[str]]:
    """`run` with some good options and at least one bad one; each flag at most once."""
    bad = draw(st.lists(st.sampled_from(sorted(BAD)), min_size=1, max_size=3, unique=True))
    good = draw(st.lists(st.sampled_from(sorted(set(GOOD) - set(bad))), max_size=4, unique=True))
    amount = draw(
        st.sampled_from(
            [["--votes", "5"], ["--duration", "1"], [], ["--votes", "5", "--duration", "1"]]
        )
    )
    if "--votes" in bad or "--duration" in bad:
        amount = []
    options: list[list[str]] = [amount] if amount else []
    names: set[str] = set()
    for flag in good:
        options.append([flag, *([draw(st.sampled_from(GOOD[flag]))] if GOOD[flag] else [])])
    for flag in bad:
        values, said = BAD[flag]
        options.append(([] if flag == "EXTRA" else [flag]) + draw(st.sampled_from(values)))
        names |= said
    if len(amount) == 4:  # both: a mistake of its own (neither is the default size)
        names |= {"--votes", "--duration"}
    shuffled = draw(st.permutations(options))
    return ["run", *(arg for option in shuffled for arg in option)], names


@FUZZ
@given(case=bad_command_lines())
@example(
    case=(
        ["run", "--votes", "5", "--nemesis", "stall", "--target-url", "http://127.0.0.1:9"],
        {"--nemesis stall"},
    )
)
@example(case=(["run", "--votes", "5", "--nemesis-schedule", "at=1"], {"--nemesis-schedule"}))
@example(case=(["run", "--votes", "5", "--workers", "2", "--server", "waitress"], {"--workers"}))
@example(
    case=(
        ["run", "--votes", "5", "--race-window", "0.1", "--target-url", "http://127.0.0.1:9"],
        {"--race-window"},
    )
)
def test_bad_options_exit_2_naming_the_flag(
    nothing_starts: None, case: tuple[list[str], set[str]]
) -> None:
    args, names = case
    assert_refused(invoke(args), names)


words = st.text(min_size=1, max_size=12).filter(lambda w: w not in ("--help", "-h"))


@FUZZ
@given(junk=st.lists(words, min_size=1, max_size=4))
def test_stray_words_after_run_are_usage_errors(nothing_starts: None, junk: list[str]) -> None:
    # "stray" guarantees a leftover argument even when the other words happen to
    # spell valid options; click names whatever it stumbles on first.
    result = invoke(["run", "--votes", "5", "stray", *junk])
    assert_refused(result, {"Error:"})
