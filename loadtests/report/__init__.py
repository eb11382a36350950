"""The human report of a run (placeholder until the full report lands)."""

from __future__ import annotations

import html
import json
from pathlib import Path


def render_run(run_dir: Path) -> Path:
    """Write a minimal index.html from result.json."""
    result = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    rows = "".join(
        f"<tr><td>{html.escape(c['name'])}</td><td>{c['status']}</td>"
        f"<td>{html.escape(c['detail'])}</td></tr>"
        for c in result["checks"]
    )
    page = (
        "<!doctype html><meta charset='utf-8'><title>racecheck</title>"
        f"<h1>{result['verdict']}</h1><p>{html.escape(result['reason'])}</p>"
        f"<table>{rows}</table>"
    )
    out = run_dir / "index.html"
    out.write_text(page, encoding="utf-8")
    return out
