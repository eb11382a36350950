"""racecheck's pytest plugin (placeholder: fixtures land with the Locust/CI work)."""

from __future__ import annotations
