"""Target files: every key parsed, every mistake refused with the key's full name."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from loadtests.errors import TargetFileError, UsageError
from loadtests.target import targetfile
from loadtests.target.workload import Extractor, Matcher, RequestSpec

TARGETS = Path(__file__).parent / "targets"

FULL = """
[target]
app = "likes:create_app"
server = "gunicorn"
threads = 8
workers = 2
health = "/healthz"
env = { LIKES_MODE = "racy", WINDOW = 0.001 }
shared_state = true
name = "likes-demo"

[[setup]]
method = "POST"
path = "/vote/"
form = { submit = "START", resolution = "Adopt the budget" }
ok = { status = 200, contains = "started" }

[[setup]]
path = "/reset"
json = { all = true }

[[counters]]
name = "likes-a"
increment = { method = "POST", path = "/like/a", json = { id = "{op_id}" } }
ok = { status = 200, contains = "likes" }
returns = { json = "likes" }
pid = { json = "pid" }
read = { method = "GET", path = "/likes", json = "a" }

[[counters]]
name = "aye"
increment = { path = "/vote/", form = { submit = "AYE" } }
returns = { regex = "Count: <b>(\\\\d+)</b>" }
read = { path = "/vote/", regex = "Yes: <b>(\\\\d+)</b>" }

[[teardown]]
method = "post"
path = "/vote/"
form = { submit = "STOP" }
"""


def write(tmp_path: Path, text: str, name: str = "t.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_every_key_is_read(tmp_path: Path) -> None:
    tf = targetfile.load(write(tmp_path, FULL))

    assert (tf.app, tf.url, tf.server, tf.threads, tf.workers) == (
        "likes:create_app",
        None,
        "gunicorn",
        8,
        2,
    )
    assert tf.env == {"LIKES_MODE": "racy", "WINDOW": "0.001"}
    w = tf.workload
    assert (w.name, w.shared_state, w.health_path) == ("likes-demo", True, "/healthz")

    first, second = w.setup
    assert first.f == "setup"
    assert first.request == RequestSpec(
        "POST", "/vote/", form={"submit": "START", "resolution": "Adopt the budget"}
    )
    assert first.ok == Matcher(status=200, contains="started")
    assert second.request == RequestSpec("POST", "/reset", json={"all": True})
    assert second.ok == Matcher()

    likes, aye = w.counters
    assert w.choices == ("likes-a", "aye")
    assert likes.increment == RequestSpec("POST", "/like/a", json={"id": "{op_id}"})
    assert likes.ok == Matcher(status=200, contains="likes")
    assert likes.returns == Extractor(json="likes")
    assert likes.pid == Extractor(json="pid")
    assert likes.read == RequestSpec("GET", "/likes")
    assert likes.read_value == Extractor(json="a")

    assert aye.increment == RequestSpec("POST", "/vote/", form={"submit": "AYE"})
    assert aye.ok == Matcher()  # default: any 2xx
    assert aye.returns == Extractor(regex=r"Count: <b>(\d+)</b>")
    assert aye.pid is None
    assert aye.read_value == Extractor(regex=r"Yes: <b>(\d+)</b>")

    (stop,) = w.teardown
    assert (stop.f, stop.request.method) == ("teardown", "POST")


def test_defaults_of_a_minimal_file(tmp_path: Path) -> None:
    tf = targetfile.load(
        write(
            tmp_path,
            """
            [target]
            app = "likes:create_app"
            [[counters]]
            name = "a"
            increment = { path = "/like/a" }
            read = { path = "/likes", json = "a" }
            """,
            "minimal.toml",
        )
    )
    assert (tf.server, tf.threads, tf.workers, tf.env) == ("waitress", 16, 1, None)
    w = tf.workload
    assert (w.name, w.shared_state, w.health_path, w.setup, w.teardown) == (
        "minimal",
        False,
        None,  # no health route assumed: the launcher waits for "/" to answer at all
        (),
        (),
    )
    assert w.counters[0].increment.method == "POST"
    assert w.counters[0].read.method == "GET"


def test_a_url_target(tmp_path: Path) -> None:
    tf = targetfile.load(
        write(
            tmp_path,
            """
            [target]
            url = "http://127.0.0.1:8000"
            [[counters]]
            name = "a"
            increment = { path = "/like/a" }
            read = { path = "/likes", json = "a" }
            """,
        )
    )
    assert (tf.url, tf.app) == ("http://127.0.0.1:8000", None)


@pytest.mark.parametrize("path", sorted(TARGETS.glob("*.toml")), ids=lambda p: p.name)
def test_the_shipped_test_targets_are_valid(path: Path) -> None:
    tf = targetfile.load(path)
    assert tf.workload.counters


COUNTER = """
[[counters]]
name = "a"
increment = { path = "/like/a" }
read = { path = "/likes", json = "a" }
"""
APP = '[target]\napp = "likes:create_app"\n'


def counter(**tables: str) -> str:
    """One [[counters]] table with some keys replaced (a value of "" drops the key)."""
    keys = {
        "name": '"a"',
        "increment": '{ path = "/like/a" }',
        "read": '{ path = "/likes", json = "a" }',
    }
    keys.update(tables)
    lines = [f"{k} = {v}" for k, v in keys.items() if v]
    return "[[counters]]\n" + "\n".join(lines) + "\n"


INVALID = [
    # [target]
    ("", "target.app", "give exactly one of"),
    ('[target]\napp = "a:b"\nurl = "http://127.0.0.1"\n' + COUNTER, "target.app", "exactly one"),
    ('[target]\napp = "likes"\n' + COUNTER, "target.app", "module:attr"),
    ("[target]\napp = 3\n" + COUNTER, "target.app", "expected str"),
    (APP + 'server = "nginx"\n' + COUNTER, "target.server", "werkzeug, waitress, gunicorn"),
    (APP + "read_every = -1\n" + COUNTER, "target.read_every", "positive integer"),
    (APP + 'read_every = "often"\n' + COUNTER, "target.read_every", "expected int"),
    (APP + "threads = 0\n" + COUNTER, "target.threads", "at least 1"),
    (APP + 'threads = "16"\n' + COUNTER, "target.threads", "expected int"),
    (APP + "threads = true\n" + COUNTER, "target.threads", "expected int"),
    (APP + 'server = "gunicorn"\nworkers = 0\n' + COUNTER, "target.workers", "at least 1"),
    (APP + "workers = 2\n" + COUNTER, "target.workers", "gunicorn"),
    (APP + 'server = "werkzeug"\nworkers = 3\n' + COUNTER, "target.workers", "gunicorn"),
    (APP + 'health = "health"\n' + COUNTER, "target.health", "start with '/'"),
    (APP + 'env = "A=1"\n' + COUNTER, "target.env", "expected dict"),
    (APP + "env = { A = { b = 1 } }\n" + COUNTER, "target.env.A", "string"),
    (APP + 'env = { "A=B" = "1" }\n' + COUNTER, "target.env.'A=B'", "no '=' or NUL"),
    (APP + 'env = { "A\\u0000B" = "1" }\n' + COUNTER, "target.env.'A\\x00B'", "no '=' or NUL"),
    (APP + 'env = { A = "x\\u0000y" }\n' + COUNTER, "target.env.A", "cannot hold a NUL"),
    (APP + 'shared_state = "yes"\n' + COUNTER, "target.shared_state", "expected bool"),
    (APP + "port = 8000\n" + COUNTER, "target.port", "unknown key"),
    ('target = "x"\n' + COUNTER, "target", "expected a table"),
    # top level
    (APP, "counters", "at least one"),
    ("counters = 3\n" + APP, "counters", "expected list"),
    ("counters = [1]\n" + APP, "counters[0]", "expected a table"),
    (APP + COUNTER + "[[targets]]\nx = 1\n", "targets", "unknown key"),
    (APP + COUNTER + COUNTER, "counters", "unique"),
    ('setup = { path = "/x" }\n' + APP + COUNTER, "setup", "expected list"),
    # [[counters]]
    (APP + counter(name=""), "counters[0].name", "is required"),
    (APP + counter(name='"a b"'), "counters[0].name", "letters, digits"),
    (APP + counter(name="1"), "counters[0].name", "expected str"),
    (APP + counter(colour='"red"'), "counters[0].colour", "unknown key"),
    (APP + counter(increment=""), "counters[0].increment", "is required"),
    (APP + counter(increment='"/like/a"'), "counters[0].increment", "expected a table"),
    (APP + counter(increment='{ method = "POST" }'), "counters[0].increment.path", "required"),
    (APP + counter(increment='{ path = "like" }'), "counters[0].increment.path", "start with"),
    (
        APP + counter(increment='{ path = "/a", method = "FETCH" }'),
        "counters[0].increment.method",
        "GET, POST",
    ),
    (
        APP + counter(increment='{ path = "/a", form = { a = "1" }, json = { a = 1 } }'),
        "counters[0].increment.form",
        "not both",
    ),
    (
        APP + counter(increment='{ path = "/a", form = "a=1" }'),
        "counters[0].increment.form",
        "expected dict",
    ),
    (
        APP + counter(increment='{ path = "/a", body = "x" }'),
        "counters[0].increment.body",
        "unknown key",
    ),
    (APP + counter(read=""), "counters[0].read", "is required"),
    (APP + counter(read='{ path = "/likes" }'), "counters[0].read", "exactly one of json"),
    (
        APP + counter(read='{ path = "/likes", json = "a", regex = "(a)" }'),
        "counters[0].read",
        "exactly one of json",
    ),
    (APP + counter(read='{ json = "a" }'), "counters[0].read.path", "is required"),
    (APP + counter(read='{ path = "likes", json = "a" }'), "counters[0].read.path", "start with"),
    (
        APP + counter(read='{ path = "/l", method = "FETCH", json = "a" }'),
        "counters[0].read.method",
        "GET, POST",
    ),
    (APP + counter(read='{ path = "/l", json = 1 }'), "counters[0].read.json", "expected str"),
    (APP + counter(read='{ path = "/l", regex = "(" }'), "counters[0].read.regex", "not a valid"),
    (APP + counter(read='{ path = "/l", regex = "\\\\d+" }'), "counters[0].read.regex", "found 0"),
    (
        APP + counter(read='{ path = "/l", regex = "(a)(b)" }'),
        "counters[0].read.regex",
        "found 2",
    ),
    (APP + counter(read='{ path = "/l", json = "a", form = {} }'), "counters[0].read.form", "unk"),
    (APP + counter(ok="{ status = 404 }"), "counters[0].ok.status", "2xx"),
    (APP + counter(ok='{ status = "200" }'), "counters[0].ok.status", "expected int"),
    (APP + counter(ok="{ contains = 3 }"), "counters[0].ok.contains", "expected str"),
    (APP + counter(ok='{ text = "x" }'), "counters[0].ok.text", "unknown key"),
    (APP + counter(returns="{}"), "counters[0].returns", "exactly one of json"),
    (APP + counter(returns='{ regex = "x" }'), "counters[0].returns.regex", "found 0"),
    (APP + counter(pid='{ json = "pid", regex = "(1)" }'), "counters[0].pid", "exactly one"),
    # [[setup]] and [[teardown]]
    (APP + COUNTER + "[[setup]]\nmethod = 'POST'\n", "setup[0].path", "is required"),
    (APP + COUNTER + "[[setup]]\npath = '/a'\nok = 3\n", "setup[0].ok", "expected a table"),
    (
        APP + COUNTER + "[[teardown]]\npath = '/a'\n[[teardown]]\npath = '/b'\nmethod = 'X'\n",
        "teardown[1].method",
        "GET, POST",
    ),
    (APP + COUNTER + "[[teardown]]\npath = '/a'\nread = 1\n", "teardown[0].read", "unknown key"),
]


@pytest.mark.parametrize(("text", "key", "message"), INVALID)
def test_invalid_files_name_the_key_and_what_it_expects(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(TargetFileError) as raised:
        targetfile.load(path)
    error = str(raised.value)
    # "<file>: <key>: <what it expects>", the key named exactly once and in full.
    assert error.startswith(f"{path}: ")
    assert re.search(rf"(^|[ .]){re.escape(key)}: ", error), error
    assert message in error
    assert isinstance(raised.value, UsageError)  # the CLI's exit 2


def test_read_every_defaults_to_no_reads_and_is_read(tmp_path: Path) -> None:
    assert targetfile.load(write(tmp_path, APP + COUNTER)).workload.read_every == 0
    tf = targetfile.load(write(tmp_path, APP + "read_every = 5\n" + COUNTER))
    assert tf.workload.read_every == 5


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TargetFileError, match="no such target file"):
        targetfile.load(tmp_path / "absent.toml")


def test_a_file_that_is_not_toml(tmp_path: Path) -> None:
    with pytest.raises(TargetFileError, match="not valid TOML"):
        targetfile.load(write(tmp_path, "[target\napp = 1"))


def test_a_directory_is_not_a_target_file(tmp_path: Path) -> None:
    with pytest.raises(TargetFileError, match="cannot read"):
        targetfile.load(tmp_path)


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[target]\napp = "caf\xe9:app"\n'.encode("latin-1"))
    with pytest.raises(TargetFileError, match="UTF-8"):
        targetfile.load(path)
