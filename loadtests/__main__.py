"""``python -m loadtests``: the ``racecheck`` command, for when the script is not on PATH."""

from __future__ import annotations

from loadtests.cli import main

if __name__ == "__main__":
    main(prog_name="racecheck")
