"""Refuse a module-level ``app.run()`` while racecheck imports the app, and name the line.

Tutorials end with ``app.run(debug=True)``; under ``if __name__ == "__main__":`` it is
harmless, but at module level it starts Flask's own dev server during the import and
blocks there, so racecheck's server never starts and the run looks like a slow machine.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from flask import Flask

from loadtests.target.wsgi import TargetSetupError


def _refuse_run(self: Flask, *args: Any, **kwargs: Any) -> NoReturn:
    caller = sys._getframe(1)
    where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
    raise TargetSetupError(
        f"the app calls {self.name}.run() while it is being imported ({where}); that starts"
        " Flask's own dev server and never returns. Put it under"
        ' `if __name__ == "__main__":` so racecheck can host the app itself.'
    )


def forbid_run_at_import() -> None:
    """Make ``Flask.run`` raise during the import of the app (racecheck serves it)."""
    Flask.run = _refuse_run  # type: ignore[method-assign]
