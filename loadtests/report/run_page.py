"""The report of one run: index.html in the run directory, from its files alone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.check.checker import loss_checks_failed
from loadtests.check.kinds import CHECK_NAMES
from loadtests.check.outcomes import lines as outcome_lines
from loadtests.errors import HistoryError
from loadtests.history import iter_file
from loadtests.report import plots_run, plots_timeline
from loadtests.report.interleave import interleavings, load_trace
from loadtests.report.page import Plot, plot, write_page
from loadtests.report.plots_stock import stock_plots
from loadtests.report.reproduce import reproduce_command
from loadtests.report.scan import Collision, HistorySeries, first_vote_ns, scan
from loadtests.report.words import DASH, VERDICT_MEANING, check_question, choice_label, headline
from loadtests.run.rundir import read_result

# Timelines stay readable when they show only the first few collisions.
TIMELINES = 3
_HIDDEN_SETTINGS = frozenset({"command", "progress", "effective"})
_FILES = (
    ("result.json", "verdict, counts, checks and witnesses"),
    ("history.jsonl", "every operation, one per line"),
    ("junit.xml", "one test case per check, for CI"),
    ("target.log", "what the target server printed"),
    ("preempt-trace", "--preempt: the app lines each vote ran, one file per server process"),
)


@dataclass
class TimelineView:
    """One collision for the page: its figure and a table of its votes."""

    number: int
    choice: str
    count: int
    plot: Plot
    rows: list[dict[str, Any]] = field(default_factory=list)


def _collisions(result: Mapping[str, Any]) -> list[Collision]:
    for check in result.get("checks") or ():
        if check.get("name") != "unique-counts" or check.get("status") != "FAIL":
            continue
        # The checker pairs each duplicate with the first vote of its count; pairs that
        # share a vote are one collision of three or more votes, shown as one group.
        groups: list[dict[str, Mapping[str, Any]]] = []
        counts: list[int] = []
        choices: list[str | None] = []
        home: dict[str, int] = {}
        for witness in check.get("witnesses") or ():
            votes = [v for v in witness.get("votes") or () if "complete_ns" in v]
            if len(votes) < 2 or not isinstance(witness.get("count"), int):
                continue
            ids = [str(v.get("vote_id")) for v in votes]
            index = next((home[i] for i in ids if i in home), None)
            if index is None:
                index = len(groups)
                groups.append({})
                counts.append(witness["count"])
                choices.append(witness.get("choice"))
            for vote_id, vote in zip(ids, votes, strict=True):
                groups[index].setdefault(vote_id, vote)
                home[vote_id] = index
        return [
            Collision(count, tuple(group.values()), choice=choice)
            for count, group, choice in zip(counts, groups, choices, strict=True)
        ]
    return []


def _scan_history(
    run_dir: Path, result: Mapping[str, Any], collisions: list[Collision]
) -> tuple[HistorySeries | None, str]:
    path = run_dir / "history.jsonl"
    if not path.is_file():
        return (
            None,
            "history.jsonl is missing, so the plots over time and the timelines cannot be drawn.",
        )
    stats = result.get("stats") or {}
    try:
        t0, duration = stats.get("started_ns"), stats.get("duration_s")
        if not isinstance(t0, int) or not isinstance(duration, int | float):
            first, last = first_vote_ns(iter_file(path))
            if first is None:
                return None, "the history holds no votes, so there is nothing to plot over time."
            t0, duration = first, ((last or first) - first) / 1e9
        return scan(iter_file(path), t0, float(duration), collisions[:TIMELINES]), ""
    except HistoryError as exc:
        return None, f"history.jsonl could not be read ({exc}), so the plots over time are missing."


def _ms(series: HistorySeries, time_ns: int | None) -> float | None:
    return None if time_ns is None else series.seconds(time_ns) * 1e3


_HOW_MANY = {2: "two", 3: "three", 4: "four", 5: "five"}


def _timeline(collision: Collision, series: HistorySeries, number: int) -> TimelineView:
    choice = choice_label(collision.choice) if collision.choice else "?"
    size = len(collision.votes)
    many = _HOW_MANY.get(size, str(size))
    if size == 2:
        title = f"Collision {number}: two {choice} votes both returned count {collision.count}"
        said = (
            f"Both read {collision.count - 1} and wrote {collision.count}: one of the two "
            "votes is gone from the tally."
        )
    else:
        title = f"Collision {number}: {many} {choice} votes all returned count {collision.count}"
        said = (
            f"All {many} read {collision.count - 1} and wrote {collision.count}: {size - 1} of "
            f"the {many} votes are gone from the tally."
        )
    view = TimelineView(
        number,
        choice,
        collision.count,
        plot(
            f"timeline-{number}",
            title,
            said + " An arrowhead at an edge marks a bar that runs on beyond the frame.",
            lambda: plots_timeline.timeline_plot(collision, series, number),
        ),
    )
    order = {"collision": 0, "context": 1, "neighbour": 2}
    for iv in sorted(collision.intervals, key=lambda i: (order[i.role], i.invoke_ns or 0)):
        start, end = _ms(series, iv.invoke_ns), _ms(series, iv.complete_ns)
        view.rows.append(
            {
                "role": iv.role,
                "client": iv.process,
                "vote_id": iv.vote_id,
                "choice": choice_label(iv.choice) if iv.choice else DASH,
                "outcome": iv.type,
                "sent_ms": start,
                "replied_ms": end,
                "latency_ms": None if start is None or end is None else end - start,
                "count": iv.count,
            }
        )
    return view


def _witness_pairs(collisions: list[Collision], t0: int | None) -> list[dict[str, Any]]:
    rows = []
    for number, collision in enumerate(collisions, 1):
        for vote in collision.votes:
            invoke, complete = vote.get("invoke_ns"), vote.get("complete_ns")
            rows.append(
                {
                    "pair": number,
                    "size": len(collision.votes),
                    "choice": choice_label(collision.choice or vote.get("choice") or "") or DASH,
                    "count": collision.count,
                    "client": vote.get("process"),
                    "vote_id": vote.get("vote_id"),
                    "sent_ms": (invoke - t0) / 1e6 if t0 and isinstance(invoke, int) else None,
                    "replied_ms": (complete - t0) / 1e6
                    if t0 and isinstance(complete, int)
                    else None,
                    "pid": vote.get("pid"),
                }
            )
    return rows


def _witness_row(witness: Mapping[str, Any], t0: int | None) -> dict[str, Any]:
    """A witness for a table: ms since the first vote for each ``*_ns`` stamp, a choice
    column for every vote (a 19-digit clock reading tells a reader nothing)."""
    row: dict[str, Any] = {}
    for key, value in witness.items():
        if key.endswith("_ns") and isinstance(value, int) and t0:
            row[f"{key[:-3]}_ms"] = round((value - t0) / 1e6, 3)
        elif key == "choice" and isinstance(value, str):
            row[key] = choice_label(value)
        else:
            row[key] = value
    if "vote_id" in row or "count" in row:
        row.setdefault("choice", DASH)
    return row


def _checks(result: Mapping[str, Any], t0: int | None = None) -> list[dict[str, Any]]:
    rows = []
    for check in result.get("checks") or ():
        name = str(check.get("name", "?"))
        witnesses = [] if name == "unique-counts" else list(check.get("witnesses") or ())
        flat = [_witness_row(w, t0) for w in witnesses if isinstance(w, Mapping)]
        columns = sorted({k for w in flat for k in w}, key=lambda k: (k != "choice", k))
        rows.append(
            {
                "name": name,
                "question": check_question(name),
                "status": check.get("status", "UNKNOWN"),
                "detail": check.get("detail", ""),
                "columns": columns,
                "witnesses": flat[:10],
                "witness_total": check.get("witness_total") or len(check.get("witnesses") or ()),
            }
        )
    return rows


def _plots(result: Mapping[str, Any], series: HistorySeries | None) -> list[Plot]:
    counts = result.get("counts") or {}
    stats = result.get("stats") or {}
    latency = stats.get("latency_ms") or {}
    plots = []
    if counts:
        plots.append(
            plot(
                "counts",
                "Acknowledged votes against the final tally",
                "White bars: votes the server said OK to. Coloured bars: what the final tally "
                "counts. Any difference is acknowledged votes that were lost.",
                lambda: plots_run.counts_plot(counts),
            )
        )
    lost = sum(int(c.get("lost") or 0) for c in counts.values())
    if series is not None and lost and series.progress:
        plots.append(
            plot(
                "lost",
                "Lost votes as the run progressed",
                "For each choice, as replies came in: the acknowledged votes so far minus the "
                "highest count any reply had returned so far. The counter never held more than "
                "that highest count, so the gap is how many acknowledged votes were already "
                "overwritten at that moment (give or take the few still in flight). The dashed "
                "line is the final loss: acknowledged votes minus the final tally.",
                lambda: plots_run.lost_plot(series, counts),
            )
        )
    if series is not None and series.votes:
        plots.append(
            plot(
                "throughput",
                "Throughput over time",
                f"Votes completed per second, in buckets of {series.bucket_s:g} s.",
                lambda: plots_run.throughput_plot(series),
            )
        )
        plots.append(
            plot(
                "latency",
                "Latency percentiles over time",
                "Time from sending a vote to its reply, per bucket: half the votes were faster "
                "than p50, 99 in 100 faster than p99. Dotted lines: the whole run.",
                lambda: plots_run.latency_plot(series, latency),
            )
        )
    elif stats.get("per_second"):
        per_second = stats["per_second"]
        plots.append(
            plot(
                "throughput",
                "Throughput over time",
                "Acknowledged votes per second (from result.json).",
                lambda: plots_run.throughput_plot_from_stats(per_second),
            )
        )
        if any(isinstance(v, int | float) for v in latency.values()):
            plots.append(
                plot(
                    "latency",
                    "Latency percentiles",
                    "Time from sending a vote to its reply (from result.json).",
                    lambda: plots_run.latency_plot_from_stats(latency),
                )
            )
    return plots


def _settings(settings: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The run's settings, an option left unset showing what it became (from "effective")."""
    effective = settings.get("effective") or {}
    return [
        (key, _shown_setting(value, effective.get(key)))
        for key, value in settings.items()
        if key not in _HIDDEN_SETTINGS
    ]


def _shown_setting(value: Any, became: Any) -> Any:
    if value is not None or became is None:
        return value
    return f"{became:g} (default)" if isinstance(became, float) else f"{became} (default)"


def _t0(series: HistorySeries | None, result: Mapping[str, Any]) -> int | None:
    if series is not None:
        return series.t0_ns
    started = (result.get("stats") or {}).get("started_ns")
    return started if isinstance(started, int) else None


def _stats(result: Mapping[str, Any]) -> dict[str, Any]:
    """result.json's stats with every key the page reads (an ERROR run may have none)."""
    stats = dict(result.get("stats") or {})
    latency = stats.get("latency_ms") or {}
    stats["latency_ms"] = {q: latency.get(q) for q in ("p50", "p95", "p99", "max")}
    for key in ("started_ns", "throughput", "duration_s"):
        stats.setdefault(key, None)
    return stats


def run_context(run_dir: Path, result: Mapping[str, Any]) -> dict[str, Any]:
    """Everything run.html shows, computed from result.json and history.jsonl."""
    collisions = _collisions(result)
    series, history_note = _scan_history(run_dir, result, collisions)
    timelines = (
        [_timeline(c, series, n) for n, c in enumerate(series.collisions, 1) if c.intervals]
        if series is not None
        else []
    )
    counts = result.get("counts") or {}
    settings = result.get("settings") or {}
    lines, lines_note = interleavings(
        ((c.count, c.votes) for c in collisions), load_trace(run_dir), TIMELINES
    )
    acked = sum(int(c.get("ok") or 0) for c in counts.values())
    finals = [c.get("final") for c in counts.values()]
    verdict = str(result.get("verdict", "ERROR"))
    return {
        "result": result,
        "verdict": verdict,
        "meaning": VERDICT_MEANING.get(verdict, ""),
        "headline": headline(result),
        "name": settings.get("name") or run_dir.name,
        "settings": _settings(settings),
        "command": reproduce_command(result),
        "stats": _stats(result),
        "acknowledged": acked if counts else None,
        "final": sum(finals) if finals and None not in finals else None,
        "info": sum(int(c.get("info") or 0) for c in counts.values()),
        "counts": [(choice_label(k), v) for k, v in counts.items()],
        "checks": _checks(result, _t0(series, result)),
        "loss_checks": loss_checks_failed(result),
        "plots": _plots(result, series) + stock_plots(run_dir, result),
        # A run of collections, stocks or calls only: no votes' table, no note about votes.
        "beyond_counters": not counts
        and any(c.get("name") in CHECK_NAMES for c in result.get("checks") or ()),
        "timelines": timelines,
        "collision_total": next(
            (c["witness_total"] for c in _checks(result) if c["name"] == "unique-counts"), 0
        ),
        "pairs": _witness_pairs(collisions, _t0(series, result)),
        "collision_groups": len(collisions),
        "history_note": history_note,
        "notes": list(result.get("notes") or ()),
        # Why ops were fail or info, grouped (check/outcomes.py), as the console prints it.
        "outcome_lines": outcome_lines(result.get("outcomes")),
        "interleavings": lines,
        "interleave_note": lines_note,
        "files": [(f, what) for f, what in _FILES if (run_dir / f).exists()],
    }


def render_run(run_dir: Path) -> Path:
    """Write ``run_dir/index.html`` from the run's result.json and history.jsonl."""
    result = read_result(run_dir)
    return write_page(run_dir / "index.html", "run.html", **run_context(run_dir, result))
