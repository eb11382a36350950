"""The textbook apps of tests/targets/textbook/, one client at a time: what each one does.

Their races are for tests/test_preempt_e2e.py and, for the stock, greeting, to-do and id
apps (a stock floor, a reply carrying its own request's data, distinct ids), for
tests/test_invariants_e2e.py; here they are only shown to work single-threaded, which is
also what a racy app does when nobody else is around.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from flask import Flask

TEXTBOOK = Path(__file__).parent / "targets" / "textbook"
Load = Callable[[str], ModuleType]


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch) -> Iterator[Load]:
    """Import a textbook module fresh (its globals start again), from its folder."""
    monkeypatch.syspath_prepend(str(TEXTBOOK))
    loaded: list[str] = []

    def fresh(name: str) -> ModuleType:
        sys.modules.pop(name, None)
        loaded.append(name)
        return importlib.import_module(name)

    yield fresh
    for name in loaded:
        sys.modules.pop(name, None)


@pytest.mark.parametrize("variant", ["app", "locked_app"])
@pytest.mark.parametrize(
    ("module", "path", "read", "key"),
    [
        ("hits", "/hit", "/hits", "hits"),
        ("tags", "/tag/python", "/tags", "python"),
        ("ids", "/items", "/items/last", "id"),
    ],
)
def test_counters_count_every_request_alone(
    load: Load, variant: str, module: str, path: str, read: str, key: str
) -> None:
    app: Flask = getattr(load(module), variant)
    client = app.test_client()
    replies = [client.post(path).get_json() for _ in range(5)]
    assert [next(iter(r.values())) for r in replies] == [1, 2, 3, 4, 5]
    assert client.get(read).get_json()[key] == 5


@pytest.mark.parametrize("variant", ["app", "locked_app"])
def test_stock_never_sells_below_zero_alone(load: Load, variant: str) -> None:
    module = load("stock")
    client = getattr(module, variant).test_client()
    statuses = [client.post("/buy").status_code for _ in range(module.INITIAL_STOCK + 3)]
    assert statuses.count(200) == module.INITIAL_STOCK and statuses[-3:] == [409] * 3
    assert client.get("/stock").get_json() == {"left": 0}


@pytest.mark.parametrize("variant", ["app", "locked_app"])
def test_greeting_carries_the_requests_own_name_alone(load: Load, variant: str) -> None:
    client = getattr(load("greeting"), variant).test_client()
    for name in ("ada", "grace"):
        assert client.post("/hello", data={"name": name}).get_json() == {
            "greeting": f"Hello, {name}"
        }


@pytest.mark.parametrize("variant", ["app", "locked_app"])
def test_todos_get_distinct_ids_alone(load: Load, variant: str) -> None:
    client = getattr(load("todos"), variant).test_client()
    ids = [client.post("/todos", data={"text": str(i)}).get_json()["id"] for i in range(4)]
    assert ids == [1, 2, 3, 4]
    assert client.get("/todos").get_json() == {"count": 4, "ids": [1, 2, 3, 4]}


def test_tickets_count_every_ticket_alone(load: Load) -> None:
    client = load("tickets").app.test_client()
    assert [client.post("/ticket").get_json()["issued"] for _ in range(3)] == [1, 2, 3]
    assert client.get("/tickets").get_json() == {"issued": 3}
