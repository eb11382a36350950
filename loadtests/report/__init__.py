"""Human reports: one page per run, one per comparison, self-contained HTML with SVG plots.

Pages are rendered with Jinja2 templates (autoescaped) from a run directory's files
alone, so a saved run can be re-rendered at any time with ``racecheck report``.
"""

from __future__ import annotations

from loadtests.report.compare_page import render_comparison
from loadtests.report.reproduce import command_from_settings, reproduce_command
from loadtests.report.run_page import render_run

__all__ = ["command_from_settings", "render_comparison", "render_run", "reproduce_command"]
