"""`racecheck locust` (not built yet)."""

from __future__ import annotations

import click


@click.command("locust", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def command(args: tuple[str, ...]) -> None:
    """(Not built yet.)"""
    raise click.UsageError("racecheck locust is not built yet")
