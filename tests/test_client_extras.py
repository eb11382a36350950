"""The client's ops beyond counters: add, decrement, call and the read of collections
and stocks, classified offline through a scripted Transport."""

from __future__ import annotations

import json

from test_client import BASE, ScriptedTransport

from loadtests.drive.client import Client, Reply
from loadtests.history import History
from loadtests.target.workload import (
    Call,
    Collection,
    Counter,
    Extractor,
    Extras,
    Matcher,
    Members,
    RequestSpec,
    Stock,
    Workload,
)

TASKS = Collection(
    name="tasks",
    add=RequestSpec("POST", "/tasks", json={"title": "t {op_id}"}),
    ok=Matcher(201),
    element="t {op_id}",
    read=RequestSpec("GET", "/tasks"),
    members=Members(json="tasks.*.title"),
    id=Extractor(json="id"),
)
STOCK = Stock(
    name="stock",
    decrement=RequestSpec("POST", "/buy"),
    read=RequestSpec("GET", "/stock"),
    read_value=Extractor(json="left"),
    refused="sold out",
)
GREET = Call(
    name="greet",
    request=RequestSpec("POST", "/greet", form={"name": "g-{op_id}"}),
    ok=Matcher(200, "g-{op_id}"),
    echo=Extractor(regex="Hello, (\\S+)!"),
    echo_value="g-{op_id}",
)
WORKLOAD = Workload("w", (), extras=Extras((TASKS,), (STOCK,), (GREET,)))


def client(*replies: Reply) -> tuple[Client, ScriptedTransport, History]:
    transport, history = ScriptedTransport(*replies), History()
    return Client(transport, BASE, WORKLOAD, history, 1), transport, history


def test_an_add_carries_its_element_and_records_the_id() -> None:
    c, transport, history = client(Reply(201, json.dumps({"id": 7})))
    op = c.perform("tasks", "v-1")
    assert transport.sent[0][0].json == {"title": "t v-1"}
    assert op.type == "ok" and op.value["element"] == "t v-1" and op.value["id"] == 7
    assert history.ops()[0].value == {"collection": "tasks", "element": "t v-1"}


def test_an_acknowledged_add_without_its_id_is_unknown() -> None:
    c, _, _ = client(Reply(201, "{}"))
    assert c.perform("tasks", "v-1").type == "info"


def test_a_sold_out_page_is_a_refusal_whatever_its_status() -> None:
    c, _, _ = client(Reply(200, "<p>Sorry, sold out!</p>"), Reply(200, "bought"))
    refused = c.perform("stock", "v-1")
    assert refused.type == "fail" and refused.value["error"] == "refused: sold out"
    assert c.perform("stock", "v-2").type == "ok"


def test_a_call_echoes_and_its_matcher_needs_its_own_value() -> None:
    c, transport, _ = client(Reply(200, "Hello, g-v-1!"), Reply(200, "Hello, g-v-1!"))
    own = c.perform("greet", "v-1")
    assert transport.sent[0][0].form == {"name": "g-v-1"}
    assert own.type == "ok" and own.value["echo"] == "g-v-1" and own.value["expect"] == "g-v-1"
    leaked = c.perform("greet", "v-2")
    assert leaked.type == "fail" and leaked.value["echo"] == "g-v-1"


def test_a_counters_ok_matcher_may_name_the_op() -> None:
    counter = Counter(
        "hits",
        RequestSpec("POST", "/hit"),
        RequestSpec("GET", "/hits"),
        Extractor(json="n"),
        ok=Matcher(contains="{op_id}"),
    )
    transport, history = ScriptedTransport(Reply(200, "v-1"), Reply(200, "v-1")), History()
    c = Client(transport, BASE, Workload("w", (counter,)), history, 1)
    assert c.perform("hits", "v-1").type == "ok"
    # Not its own acknowledgement: a 2xx that may still have taken effect (#13).
    assert c.perform("hits", "v-2").type == "info"


def test_a_read_reads_collections_and_stocks() -> None:
    tasks = json.dumps({"tasks": [{"title": "a"}, {"title": "b"}]})
    c, _, _ = client(Reply(200, tasks), Reply(200, json.dumps({"left": 3})))
    op = c.read()
    assert op.type == "ok"
    assert op.value["collections"] == {"tasks": ["a", "b"]} and op.value["stocks"] == {"stock": 3}


def test_an_unreadable_collection_makes_the_read_unknown() -> None:
    c, _, _ = client(Reply(200, "{}"), Reply(200, json.dumps({"left": 3})))
    assert c.read().type == "info"
