"""The Tally tab in Locust's web UI: acknowledged votes against the tally, then the verdict.

Locust 2.47's web UI (a React app) renders extra tabs from three pieces of
data: ``extended_tabs`` and ``extended_tables`` in the page's template
arguments (which tabs exist, and each one's columns), and ``extended_stats``
in the ``/stats/requests`` reply it polls every two seconds (each tab's rows).
So the tab needs no JavaScript of ours: the rows are added to that reply.
``/racecheck/tally`` serves the same rows as JSON for scripts.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, jsonify, request

from loadtests.swarm.inside.master import MasterSide
from loadtests.swarm.tally import COLUMNS, TAB_KEY, TAB_TITLE


def install(master: MasterSide, web_ui: Any) -> None:
    """Add the Tally tab to ``web_ui`` (a locust.web.WebUI), fed by the master side."""
    web_ui.template_args["extended_tabs"] = [{"title": TAB_TITLE, "key": TAB_KEY}]
    web_ui.template_args["extended_tables"] = [
        {"key": TAB_KEY, "structure": [{"key": key, "title": title} for key, title in COLUMNS]}
    ]

    def rows() -> list[dict[str, Any]]:
        return [{key: row.get(key, "") for key, _ in COLUMNS} for row in master.tally()]

    def add_tally(response: Response) -> Response:
        if not request.path.endswith("/stats/requests") or response.status_code != 200:
            return response
        body = response.get_json(silent=True)
        if isinstance(body, dict):
            body["extended_stats"] = [{"key": TAB_KEY, "data": rows()}]
            response.set_data(json.dumps(body))
        return response

    def tally() -> Response:
        run = master.run
        return jsonify(
            {
                "state": run.state if run is not None else "idle",
                "run_id": run.info.run_id if run is not None else None,
                "rows": rows(),
                "result": run.result if run is not None else None,
            }
        )

    web_ui.app.after_request(add_tally)
    web_ui.app.add_url_rule("/racecheck/tally", "racecheck_tally", tally)
