"""run/preflight.py: one pass of the workload before the load; the first problem and its exit."""

from __future__ import annotations

from pathlib import Path

from loadtests.check.exitcodes import EXIT_ERROR, EXIT_USAGE
from loadtests.drive.client import Client, Reply
from loadtests.history import History
from loadtests.run.preflight import preflight
from loadtests.target.workload import (
    Counter,
    Extractor,
    RequestSpec,
    Step,
    Workload,
)

WORKLOAD = Workload(
    "likes",
    (
        Counter(
            "likes",
            RequestSpec("POST", "/like"),
            RequestSpec("GET", "/likes"),
            Extractor(json="likes"),
        ),
    ),
    setup=(Step("setup", RequestSpec("POST", "/items")),),
)


class Scripted:
    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.sent: list[RequestSpec] = []

    def send(self, request: RequestSpec, base_url: str) -> Reply:
        self.sent.append(request)
        return self.replies.pop(0)


def client(*replies: Reply) -> Client:
    return Client(Scripted(*replies), "http://127.0.0.1:1", WORKLOAD, History(), "harness")


def test_a_clean_pass_sends_setup_one_increment_and_one_read() -> None:
    c = client(Reply(201, "{}"), Reply(200, "{}"), Reply(200, '{"likes": 1}'))
    assert preflight(c) is None
    assert [r.path for r in c.transport.sent] == ["/items", "/like", "/likes"]  # type: ignore[attr-defined]


def test_a_404_is_the_files_fault_with_the_reply() -> None:
    problem = preflight(client(Reply(201, "{}"), Reply(404, "<h1>Not Found</h1>")))
    assert problem is not None and problem.exit_code == EXIT_USAGE
    assert "counters[0].increment (POST /like) got HTTP 404" in problem.message
    assert "Not Found" in problem.message


def test_a_missing_field_names_the_read_and_shows_the_body() -> None:
    c = client(Reply(201, "{}"), Reply(200, "{}"), Reply(200, '{"posts": []}'))
    problem = preflight(c)
    assert problem is not None and problem.exit_code == EXIT_USAGE
    assert "counters[0].read (GET /likes) got HTTP 200: cannot read counter 'likes'" in (
        problem.message
    )
    assert '{"posts": []}' in problem.message


def test_a_500_is_the_apps_fault_with_its_first_traceback(tmp_path: Path) -> None:
    log = tmp_path / "target.log"
    log.write_text(
        "Traceback (most recent call last):\n"
        '  File "app.py", line 3, in like\n'
        "ZeroDivisionError: division by zero\n"
    )
    problem = preflight(client(Reply(201, "{}"), Reply(500, "Internal Server Error")), log)
    assert problem is not None and problem.exit_code == EXIT_ERROR
    assert problem.message.endswith("ZeroDivisionError: division by zero")
