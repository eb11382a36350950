"""Target file keys for real apps: headers, extract, [[login]], session, refused, increments."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from loadtests.drive.client import Client, Reply
from loadtests.errors import TargetFileError
from loadtests.history import History
from loadtests.target import targetfile
from loadtests.target.workload import Extractor, Matcher, RequestSpec

BROWSER = """
[target]
app = "members:create_app"
session = "shared"

[[login]]
method = "GET"
path = "/login"
extract = { csrf = { regex = 'value="([0-9a-f]+)"' } }

[[login]]
path = "/login"
form = { csrf_token = "{csrf}", password = "hunter2" }

[[setup]]
path = "/items"
json = { name = "x" }
headers = { Authorization = "Bearer t0ken" }
extract = { item = { json = "id" } }

[[counters]]
name = "likes"
increment = { path = "/items/{item}/like", headers = { "X-CSRFToken" = "{csrf}" } }
ok = { contains = "liked" }
refused = { contains = "sold out" }
read = { path = "/", regex = 'visits <b>(\\d+)</b>', increments = 1, headers = { A = "b" } }
"""


def load(tmp_path: Path, text: str) -> targetfile.TargetFile:
    path = tmp_path / "t.toml"
    path.write_text(textwrap.dedent(text))
    return targetfile.load(path)


def test_every_browser_key_is_parsed(tmp_path: Path) -> None:
    w = load(tmp_path, BROWSER).workload
    assert w.session == "shared" and [s.f for s in w.login] == ["login", "login"]
    assert w.login[0].extract == {"csrf": Extractor(regex='value="([0-9a-f]+)"')}
    assert w.setup[0].request.headers == {"Authorization": "Bearer t0ken"}
    assert w.setup[0].extract == {"item": Extractor(json="id")}
    counter = w.counters[0]
    assert counter.increment.headers == {"X-CSRFToken": "{csrf}"}
    assert counter.refused == Matcher(contains="sold out")
    assert counter.read_increments == 1 and w.read_increments == {"likes": 1}
    assert counter.read.headers == {"A": "b"}
    assert w.preflight is True


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('session = "shared"', 'session = "tabs"'), "target.session"),
        (("{item}/like", "{itme}/like"), "counters[0].increment: uses {itme}"),
        (("increments = 1", "increments = -1"), "counters[0].read.increments"),
        (("extract = { item", "extract = { op_id"), "setup[0].extract.op_id"),
        (('Authorization = "Bearer t0ken"', "Authorization = 7"), "headers.Authorization"),
        (("[target]\n", "[target]\nread_every = 3\n"), "target.read_every"),
        (('json = "id"', 'jsn = "id"'), "setup[0].extract.item.jsn"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, change: tuple[str, str], key: str) -> None:
    text = textwrap.dedent(BROWSER)
    assert change[0] in text
    with pytest.raises(TargetFileError, match=key.replace("[", r"\[").replace("{", r"\{")):
        load(tmp_path, text.replace(*change, 1))


class Scripted:
    """A transport that answers from a list and remembers what it was sent."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.sent: list[RequestSpec] = []

    def send(self, request: RequestSpec, base_url: str) -> Reply:
        self.sent.append(request)
        return self.replies.pop(0)


def test_extracted_values_fill_later_requests_headers_included(tmp_path: Path) -> None:
    w = load(tmp_path, BROWSER).workload
    transport = Scripted(
        Reply(200, '<input value="c0ffee">'),
        Reply(200, "welcome"),
        Reply(201, '{"id": 42}'),
        Reply(200, "liked"),
    )
    client = Client(transport, "http://127.0.0.1:1", w, History(), "harness")
    for step in (*w.login, *w.setup):
        assert client.step(step).type == "ok"
    assert client.variables == {"csrf": "c0ffee", "item": "42"}
    assert client.vote("likes", "v-1").type == "ok"
    login_post, vote = transport.sent[1], transport.sent[3]
    assert login_post.form == {"csrf_token": "c0ffee", "password": "hunter2"}
    assert vote.path == "/items/42/like" and vote.headers == {"X-CSRFToken": "c0ffee"}


def test_a_value_the_reply_lacks_makes_the_step_unknown_with_the_body(tmp_path: Path) -> None:
    w = load(tmp_path, BROWSER).workload
    client = Client(Scripted(Reply(200, "<p>no form</p>")), "http://x", w, History(), 0)
    op = client.step(w.login[0])
    assert op.type == "info" and "cannot extract 'csrf'" in op.value["error"]
    assert op.value["body"] == "<p>no form</p>"


def test_reset_commands_and_requests_cwd_and_python(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    tf = load(
        tmp_path,
        """
        [target]
        app = "likes:create_app"
        cwd = "data"
        python = "venv/bin/python"

        [[reset]]
        command = "cp seed.db data/app.db"

        [[reset]]
        method = "POST"
        path = "/admin/reset"
        ok = { status = 204 }

        [[counters]]
        name = "a"
        increment = { path = "/like/a" }
        read = { path = "/likes", json = "a" }
        """,
    )
    assert tf.reset_commands == ("cp seed.db data/app.db",)
    (step,) = tf.workload.reset
    assert (step.f, step.request.path, step.ok) == ("reset", "/admin/reset", Matcher(status=204))
    assert tf.cwd == tmp_path / "data" and tf.python == python


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('cwd = "nowhere"', "target.cwd"),
        ('python = "venv/bin/python3.99"', "target.python"),
    ],
)
def test_a_missing_folder_or_interpreter_is_refused(tmp_path: Path, line: str, key: str) -> None:
    text = f'[target]\napp = "a:b"\n{line}\n[[counters]]\nname = "a"\n'
    text += 'increment = { path = "/a" }\nread = { path = "/a", json = "a" }\n'
    with pytest.raises(TargetFileError, match=key.replace(".", r"\.")):
        load(tmp_path, text)


def test_the_locust_driver_refuses_what_only_the_requests_driver_does(tmp_path: Path) -> None:
    from loadtests.errors import UsageError
    from loadtests.run.plan import plan
    from loadtests.run.settings import RunSettings

    path = tmp_path / "t.toml"
    path.write_text(textwrap.dedent(BROWSER).replace('session = "shared"\n', ""))
    with pytest.raises(UsageError, match="requests driver only"):
        plan(RunSettings(target_file=path, driver="locust", votes=10))


def test_a_bracketed_json_path_is_refused_with_the_dotted_spelling(tmp_path: Path) -> None:
    text = '[target]\napp = "a:b"\n[[counters]]\nname = "a"\nincrement = { path = "/a" }\n'
    text += 'read = { path = "/posts", json = "posts[0].likes" }\n'
    with pytest.raises(TargetFileError, match=r"counters\[0\]\.read\.json: use a dotted path"):
        load(tmp_path, text)
    with pytest.raises(TargetFileError, match=r"'posts\.0\.likes'"):
        load(tmp_path, text)
