"""racecheck: prove whether a Flask app is thread-safe under real load."""

from __future__ import annotations

__version__ = "0.1.0"
