"""The run report, rendered from hand-built histories judged by the real checker."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from loadtests.check.checker import CheckSettings, FinalState, check
from loadtests.check.exitcodes import exit_code_for
from loadtests.check.verdict import CheckResult, Verdict
from loadtests.cli import main
from loadtests.history import History
from loadtests.report import render_run
from loadtests.run.rundir import result_dict, write_history, write_result
from loadtests.stats import summarize

T0 = 1_764_000_000_000_000_000
MS = 1_000_000
PID = 4242


@dataclass
class Scenario:
    """A history built vote by vote, with the counter the server would have kept."""

    choices: tuple[str, ...] = ("yes", "no")
    returns_count: bool = True
    history: History = field(default_factory=lambda: History("requests"))
    tally: dict[str, int] = field(default_factory=dict)
    numbers: int = 0

    def __post_init__(self) -> None:
        self.harness("start", {"id": 1, "text": "t", "state": "voting"}, T0 - 5 * MS)

    def harness(self, f: str, value: Any, at: int) -> None:
        self.history.append("harness", "invoke", f, None, time_ns=at, driver="harness")
        self.history.append("harness", "ok", f, value, time_ns=at + MS // 2, driver="harness")

    def vote(
        self,
        process: int,
        choice: str,
        start_ms: float,
        end_ms: float,
        count: int | None = None,
        kind: str = "ok",
    ) -> str:
        """Record one vote; ``count`` None means the next value of the counter."""
        vote_id = f"t-{self.numbers}"
        self.numbers += 1
        self.history.append(
            process, "invoke", "vote", {"choice": choice}, vote_id, int(T0 + start_ms * MS)
        )
        if kind == "ok":
            if count is None:
                count = self.tally.get(choice, 0) + 1
            self.tally[choice] = max(self.tally.get(choice, 0), count)
            value: dict[str, Any] = {"choice": choice, "pid": PID, "resolution_id": 1}
            value["count"] = count if self.returns_count else None
        else:
            value = {"choice": choice, "status": None, "error": "timed out"}
        self.history.append(process, kind, "vote", value, vote_id, int(T0 + end_ms * MS))  # type: ignore[arg-type]
        return vote_id

    def steady(self, start_ms: float, votes: int, clients: int = 4) -> None:
        """Many well-behaved votes, one client after another, 2 ms each."""
        for i in range(votes):
            at = start_ms + i * 2.0
            self.vote(i % clients, self.choices[i % len(self.choices)], at, at + 1.5)
        # Two refused votes in flight together: clients that could race (the
        # concurrency check), with nothing counted.
        for process in (clients, clients + 1):
            at = int(T0 + start_ms * MS)
            self.history.append(
                process, "invoke", "vote", {"choice": self.choices[0]}, f"r{process}", at
            )
        for process in (clients, clients + 1):
            refused = {"choice": self.choices[0], "status": 409, "error": "no vote in progress"}
            self.history.append(
                process, "fail", "vote", refused, f"r{process}", int(T0 + start_ms * MS) + MS
            )

    def write(self, run_dir: Path, final: bool = True, command: str = "", **extra: Any) -> Path:
        """Judge the history with the real checker and write a complete run directory."""
        run_dir.mkdir(parents=True, exist_ok=True)
        ops = self.history.ops()
        end = max(op.time_ns for op in ops) + MS
        counts = {c: self.tally.get(c, 0) for c in self.choices}
        state = FinalState(counts, 1, end, (PID,), "read") if final else FinalState(None)
        settings = CheckSettings(choices=self.choices, workers=1, **extra)
        verdict = check(ops, state, settings)
        write_history(run_dir, self.history)
        run_settings: dict[str, Any] = {"build": "unlocked", "server": "waitress"}
        run_settings.update(driver="requests", clients=4, votes=self.numbers, name=run_dir.name)
        result = result_dict(
            verdict,
            state,
            settings,
            run_settings,
            summarize(ops),
            command,
            exit_code_for(verdict),
        )
        write_result(run_dir, result)
        render_run(run_dir)
        return run_dir


def collide(s: Scenario) -> tuple[str, str]:
    """Two YES votes in flight together that both return count 1: the race, in miniature."""
    a = s.vote(0, "yes", 0.0, 5.0, count=1)
    b = s.vote(1, "yes", 1.0, 6.0, count=1)
    s.vote(0, "yes", 5.2, 8.0, count=2)
    s.vote(1, "no", 6.3, 9.0)
    return a, b


def page(run_dir: Path) -> str:
    return (run_dir / "index.html").read_text(encoding="utf-8")


def text_of(html: str) -> str:
    """The visible text of a page, roughly: tags dropped, whitespace squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def assert_sound(html: str) -> None:
    """Every report: no failed plot, unique ids, nothing fetched from anywhere."""
    assert "could not be drawn" not in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1][:5]
    assert "<script" not in html
    assert not re.search(r'\b(src|href)="(https?:)?//', html)
    urls = set(re.findall(r"https?://[^\s\"')]+", html))
    assert all(u.startswith("http://www.w3.org/") for u in urls), urls


def before(html: str, first: str, then: str) -> bool:
    return html.index(first) < html.index(then)


@pytest.fixture
def fail_run(tmp_path: Path) -> tuple[Path, tuple[str, str]]:
    s = Scenario()
    pair = collide(s)
    s.steady(12.0, 120)
    return s.write(tmp_path / "fail", command="racecheck run --build unlocked"), pair


def test_fail_report_puts_the_verdict_and_the_lost_votes_first(
    fail_run: tuple[Path, tuple[str, str]],
) -> None:
    html = page(fail_run[0])
    assert_sound(html)
    assert before(html, 'class="verdict v-FAIL"', 'id="checks"')
    title = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert title is not None
    assert title.group(1) == (
        "1 acknowledged YES vote was lost: pairs of votes read the same count and both "
        "wrote count+1"
    )
    assert "The server said OK to 124 votes, but its final tally counts only 123." in html
    for name in ("bounds", "unique-counts", "history-complete"):
        assert f'<code class="name">{name}</code>' in html


def test_fail_report_draws_the_colliding_votes_with_their_times_and_counts(
    fail_run: tuple[Path, tuple[str, str]],
) -> None:
    run_dir, (a, b) = fail_run
    html = page(run_dir)
    race = html[html.index('id="race"') : html.index('id="votes"')]
    assert "Collision 1: two YES votes both returned count 1" in race
    timeline = race[race.index("<svg") : race.index("</svg>")]
    assert timeline.count("YES → 1") == 2  # both bars, labelled with their count
    assert "both in flight" in timeline
    rows = re.findall(r'<tr class="row-collision">(.*?)</tr>', race, re.S)
    cells = [text_of(r).split() for r in rows]
    # vote id, client, choice, sent ms, reply ms, latency, count
    assert [c[0] for c in cells] == [a, b]
    assert cells[0][3:5] == ["0.000", "5.000"]
    assert cells[1][3:5] == ["1.000", "6.000"]
    assert [c[-1] for c in cells] == ["1", "1"]
    # The vote that returned count 2 is drawn as the collision's successor.
    assert 'class="row-context"' in race


def test_fail_report_has_every_plot_as_inline_svg(fail_run: tuple[Path, tuple[str, str]]) -> None:
    html = page(fail_run[0])
    for key in ("counts", "lost", "throughput", "latency", "timeline-1"):
        figure = html[html.index(f'<figure id="{key}">') :]
        assert figure.index("<svg") < figure.index("</figure>"), key
    assert 'aria-label="Lost votes as the run progressed"' in html
    assert "acknowledged votes so far minus the highest count" in html


def test_pass_report(tmp_path: Path) -> None:
    s = Scenario()
    s.steady(0.0, 200)
    html = page(s.write(tmp_path / "pass"))
    assert_sound(html)
    assert before(html, 'class="verdict v-PASS"', 'id="checks"')
    assert "All 200 acknowledged votes are in the final tally" in html
    assert 'id="race"' not in html
    assert '<figure id="lost">' not in html  # nothing was lost
    assert html.count("<svg") == 3  # counts, throughput, latency


def test_unknown_report_without_a_final_read(tmp_path: Path) -> None:
    s = Scenario()
    s.steady(0.0, 50)
    html = page(s.write(tmp_path / "unknown", final=False))
    assert_sound(html)
    assert before(html, 'class="verdict v-UNKNOWN"', 'id="checks"')
    assert "racecheck cannot decide" in html
    assert "could not be read, so lost votes cannot be ruled out" in html


def test_error_report_with_nothing_but_a_result(tmp_path: Path) -> None:
    run_dir = tmp_path / "error"
    run_dir.mkdir()
    message = "the target did not become ready within 30 s"
    verdict = Verdict("ERROR", (CheckResult("setup", "ERROR", message),), {}, None, False, message)
    settings = {"build": "locked", "server": "gunicorn", "driver": "requests", "votes": 10}
    result = result_dict(verdict, FinalState(None), CheckSettings(), settings, {}, "", 4)
    write_result(run_dir, result)
    render_run(run_dir)
    html = page(run_dir)
    assert_sound(html)
    assert before(html, 'class="verdict v-ERROR"', 'id="checks"')
    assert "The run could not be completed" in html
    assert "The target did not become ready within 30 s" in html
    assert "history.jsonl is missing" in html
    # No recorded command: one is rebuilt from the settings.
    assert "racecheck run --build locked --server gunicorn --votes 10" in html


def test_target_file_counters_without_returned_counts(tmp_path: Path) -> None:
    s = Scenario(choices=("likes-a", "<b>likes</b>"), returns_count=False)
    s.steady(0.0, 40)
    html = page(s.write(tmp_path / "target"))
    assert_sound(html)
    assert "PASS" in html
    assert "the target does not return the count it wrote" in html  # unique-counts SKIP
    assert "<b>likes</b>" not in html  # the counter's name is escaped, in HTML and SVG
    assert "&lt;b&gt;likes&lt;/b&gt;" in html


def test_zero_votes(tmp_path: Path) -> None:
    s = Scenario()
    html = page(s.write(tmp_path / "zero"))
    assert_sound(html)
    assert 'class="verdict v-' in html
    assert "the history holds no votes, so there is nothing to plot over time." in html


def test_timeouts_are_drawn_as_unknown_not_lost(tmp_path: Path) -> None:
    s = Scenario()
    s.steady(0.0, 30)
    s.vote(2, "yes", 70.0, 90.0, kind="info")
    html = page(s.write(tmp_path / "info"))
    assert_sound(html)
    assert "unknown outcome" in html
    assert 'class="card bad"' not in html


def test_report_without_history_uses_result_json(
    fail_run: tuple[Path, tuple[str, str]],
) -> None:
    run_dir = fail_run[0]
    (run_dir / "history.jsonl").unlink()
    html = page(Path(render_run(run_dir)).parent)
    assert_sound(html)
    assert "history.jsonl is missing" in html
    assert '<figure id="throughput">' in html  # drawn from result.json's per-second stats
    assert 'id="race"' not in html


def test_report_command_rerenders_a_run(fail_run: tuple[Path, tuple[str, str]]) -> None:
    run_dir = fail_run[0]
    (run_dir / "index.html").unlink()
    outcome = CliRunner().invoke(main, ["report", str(run_dir)])
    assert outcome.exit_code == 0, outcome.output
    assert f"wrote {run_dir / 'index.html'}" in outcome.output
    assert 'class="verdict v-FAIL"' in page(run_dir)


@pytest.mark.parametrize("make", ["missing", "empty", "not-json"])
def test_report_command_refuses_what_is_not_a_run(tmp_path: Path, make: str) -> None:
    target = tmp_path / "x"
    if make != "missing":
        target.mkdir()
    if make == "not-json":
        (target / "result.json").write_text("{")
    outcome = CliRunner().invoke(main, ["report", str(target)])
    assert outcome.exit_code == (4 if make == "not-json" else 2), outcome.output


def test_rendering_is_repeatable(fail_run: tuple[Path, tuple[str, str]]) -> None:
    run_dir = fail_run[0]

    def svgs() -> Iterable[str]:
        return re.findall(r"<svg.*?</svg>", page(run_dir), re.S)

    first = list(svgs())
    render_run(run_dir)
    assert list(svgs()) == first


def test_result_json_is_left_alone(fail_run: tuple[Path, tuple[str, str]]) -> None:
    run_dir = fail_run[0]
    before_render = json.loads((run_dir / "result.json").read_text())
    render_run(run_dir)
    assert json.loads((run_dir / "result.json").read_text()) == before_render
