"""Start the target's server under the app's own interpreter (target file ``python = ...``).

The launcher runs ``APP_PYTHON -m loadtests.target.boot ...`` with the repo root on
PYTHONPATH. The app's venv has its own dependencies (Flask among them) but maybe not
the WSGI server racecheck hosts it with, so racecheck's own site-packages are added at
the *end* of ``sys.path`` (RACECHECK_FALLBACK_PATH): whatever the app's venv has wins,
and only what it lacks (waitress, gunicorn) comes from racecheck's. Then it is
``loadtests.target.serve``, unchanged.
"""

from __future__ import annotations

import os
import sys

FALLBACK_ENV = "RACECHECK_FALLBACK_PATH"


def extend_path(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Append racecheck's own site-packages after the interpreter's own."""
    for entry in environ.get(FALLBACK_ENV, "").split(os.pathsep):
        if entry and entry not in sys.path:
            sys.path.append(entry)


def main() -> int:
    """Extend the path, then run the ordinary server entry point."""
    extend_path()
    from loadtests.target.serve import main as serve  # only now: flask is in the path

    return serve()


if __name__ == "__main__":
    sys.exit(main())
