"""check/outcomes.py: fail and info outcomes grouped by status and reason, and tracebacks."""

from __future__ import annotations

from typing import Any

from loadtests.check.outcomes import breakdown, first_traceback, lines, summary
from loadtests.history import Op


def done(index: int, kind: str, value: Any, f: str = "vote") -> Op:
    return Op(index, 0, kind, f, value, index)  # type: ignore[arg-type]


HTML_500 = "<!doctype html>\n<title>500 Internal Server Error</title>\n<h1>Internal</h1>"


def test_groups_by_outcome_operation_status_and_reason_most_first() -> None:
    ops = [
        done(0, "ok", {"count": 1}),
        done(1, "info", {"status": 500, "error": HTML_500}),
        done(2, "fail", {"status": 404, "error": "no such item 7"}),
        done(3, "info", {"status": 500, "error": HTML_500}),
        done(4, "fail", {"status": 404, "error": "no such item 8"}),
        done(5, "fail", {"status": 404, "error": "no such item 9"}),
        done(6, "info", {"status": None, "error": "ReadTimeout: read timed out"}),
        done(7, "info", {"status": 200, "error": "cannot read", "body": "<p>hi</p>"}, f="read"),
    ]
    groups = breakdown(ops)
    assert [(g["type"], g["f"], g["status"], g["count"]) for g in groups] == [
        ("fail", "vote", 404, 3),
        ("info", "vote", 500, 2),
        ("info", "vote", None, 1),
        ("info", "read", 200, 1),
    ]
    assert groups[0]["reason"] == "no such item 7"  # the first one's words
    assert groups[1]["reason"] == "500 Internal Server Error"  # an error page's title
    assert groups[3]["body"] == "<p>hi</p>"
    assert lines({"groups": groups})[1] == "2 info vote: HTTP 500, 500 Internal Server Error"
    assert "no reply" in lines({"groups": groups})[2]


def test_nothing_went_wrong_says_nothing() -> None:
    assert breakdown([done(0, "ok", {}), done(1, "invoke", None)]) == []
    assert lines(summary([done(0, "ok", {})])) == []


LOG = """racecheck target: flaky:create_app on waitress
ERROR:flaky:Exception on /like [POST]
Traceback (most recent call last):
  File "flask/app.py", line 1511, in wsgi_app
    response = self.full_dispatch_request()
  File "flaky.py", line 26, in like
    raise RuntimeError("database is locked")
RuntimeError: database is locked
Traceback (most recent call last):
  File "x.py", line 1, in other
ValueError: second
"""


def test_the_first_traceback_ends_at_its_exception() -> None:
    found = first_traceback(LOG)
    assert found is not None
    assert found.splitlines()[0] == "Traceback (most recent call last):"
    assert found.splitlines()[-1] == "RuntimeError: database is locked"
    assert "second" not in found
    assert first_traceback("no trouble here\n") is None


def test_the_summary_names_the_final_read_error_and_the_traceback() -> None:
    outcomes = summary([], LOG, "cannot read counter 'a': the reply has no JSON field 'x'")
    text = "\n".join(lines(outcomes))
    assert "final read: cannot read counter 'a'" in text
    assert text.endswith("RuntimeError: database is locked")
