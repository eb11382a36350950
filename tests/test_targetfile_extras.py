"""Target-file keys beyond counters: [[collections]], [[stocks]], [[calls]], calibrate,
expect, and placeholders ({op_id} filled in; any other refused at load time)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from support.cli import racecheck

from loadtests.errors import TargetFileError
from loadtests.target import targetfile
from loadtests.target.workload import Extractor, Matcher, Members

TARGETS = Path(__file__).parent / "targets"
APP = '[target]\napp = "tasks:create_app"\n'
COLLECTION = """
[[collections]]
name = "tasks"
add = { path = "/tasks", json = { title = "t {op_id}" } }
element = "t {op_id}"
ok = { status = 201, contains = "{op_id}" }
id = { json = "id" }
echo = { regex = 'title": "([^"]*)"' }
read = { path = "/tasks", json = "tasks.*.title" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_collection_is_read(tmp_path: Path) -> None:
    tf = targetfile.load(write(tmp_path, APP + COLLECTION))
    (tasks,) = tf.workload.extras.collections
    assert tf.workload.counters == ()
    assert tf.workload.op_names == ("tasks",)
    assert tasks.element == "t {op_id}" and tasks.id == Extractor(json="id")
    assert tasks.members == Members(json="tasks.*.title")
    assert tasks.ok.for_op("v-1") == Matcher(201, "v-1")
    assert tasks.add.render("v-1").json == {"title": "t v-1"}


def test_stocks_calls_calibrate_and_expect(tmp_path: Path) -> None:
    text = (
        APP
        + 'calibrate = 24\nexpect = "all-ok"\n'
        + """
[[stocks]]
name = "stock"
decrement = { path = "/buy" }
refused = "sold out"
read = { path = "/stock", json = "left" }
floor = 2

[[calls]]
name = "greet"
request = { path = "/greet", form = { name = "g-{op_id}" } }
echo = { json = "greeting" }
echo_value = "Hello, g-{op_id}"
"""
    )
    extras = targetfile.load(write(tmp_path, text)).workload.extras
    assert (extras.calibrate, extras.all_ok) == (24, True)
    assert extras.stocks[0].refused == "sold out" and extras.stocks[0].floor == 2
    assert extras.calls[0].echo_value == "Hello, g-{op_id}"
    assert extras.names == ("stock", "greet")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (APP + COLLECTION.replace("{op_id}", "{opid}", 1), "unknown placeholder {opid}"),
        (APP + COLLECTION.replace('element = "t {op_id}"', 'element = "t"'), "element"),
        (APP + '[[collections]]\nname = "x"\nadd = { path = "/x" }\n', "or id is required"),
        (APP + "calibrate = -1\n" + COLLECTION, "target.calibrate"),
        (APP + 'expect = "pass"\n' + COLLECTION, "target.expect"),
        (
            APP + COLLECTION + COLLECTION.replace("add = {", "x = 1\nadd = {", 1),
            "collections[1].x: unknown key",
        ),
        (APP + COLLECTION + COLLECTION, "op names must be unique"),
    ],
)
def test_bad_extras_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(TargetFileError, match=message.replace("{", r"\{").replace("[", r"\[")):
        targetfile.load(write(tmp_path, text))


def test_members_from_arrays_objects_and_regexes() -> None:
    assert Members(json="tasks.*.title").extract('{"tasks": [{"title": "a"}, {"title": 1}]}') == [
        "a",
        "1",
    ]
    assert Members(json="by_id").extract('{"by_id": {"a": 1, "b": 2}}') == ["a", "b"]
    assert Members(regex="<li>(.*?)</li>").extract("<li>a</li><li>b</li><li>a</li>") == [
        "a",
        "b",
        "a",
    ]
    with pytest.raises(ValueError):
        Members(json="missing").extract("{}")


@pytest.mark.parametrize(
    "path",
    sorted((TARGETS / "invariants").glob("*.toml"))
    + [
        TARGETS / "textbook" / f"{name}_{kind}.toml"
        for name in ("stock", "greeting", "todos", "ids_unique")
        for kind in ("racy", "locked")
    ],
    ids=lambda p: p.name,
)
def test_the_shipped_invariant_targets_are_valid(path: Path) -> None:
    assert targetfile.load(path).workload.extras  # its tables, or calibrate at least


def test_an_unknown_placeholder_is_exit_2_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, APP + COLLECTION.replace("{op_id}", "{vote}", 1))
    run = racecheck("run", "--target", str(path), "--votes", "1")
    assert run.exit_code == 2, run.describe()
    assert "unknown placeholder {vote}" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_locust_refuses_a_target_beyond_counters(tmp_path: Path) -> None:
    target = TARGETS / "invariants" / "tasks_locked.toml"
    run = racecheck("run", "--target", str(target), "--driver", "locust", "--votes", "1")
    assert run.exit_code == 2, run.describe()
    assert "--driver requests" in run.stderr


def test_calibration_is_on_by_default_beyond_counters_only(tmp_path: Path) -> None:
    assert targetfile.load(write(tmp_path, APP + COLLECTION)).workload.extras.calibrate == 24
    counters = (TARGETS / "likes_locked.toml").read_text()
    assert not targetfile.load(write(tmp_path, counters)).workload.extras
    calibrated = counters.replace("[target]\n", "[target]\ncalibrate = 5\n", 1)
    extras = targetfile.load(write(tmp_path, calibrated)).workload.extras
    assert extras.calibrate == 5 and extras.names == ()


def test_locusts_own_options_refuse_a_target_beyond_counters() -> None:
    from loadtests.errors import UsageError
    from loadtests.swarm.options import RacecheckOptions

    options = RacecheckOptions(target=TARGETS / "invariants" / "tasks_locked.toml")
    with pytest.raises(UsageError, match="drive \\[\\[counters\\]\\] only"):
        options.workload()
    assert RacecheckOptions(target=TARGETS / "likes_locked.toml").workload().counters
