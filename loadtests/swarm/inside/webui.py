"""The Tally tab in Locust's web UI: the tally judged like with like, live, then the verdict.

Locust 2.47's web UI is a React app that renders an extra tab for each entry of
``extended_tabs`` in its template arguments; it draws a table in it only for the
tabs listed in ``extended_tables``, from ``extended_stats`` in the
``/stats/requests`` reply. That reply is polled only while Locust's runner is
spawning or running: after Stop, the poll that would bring the verdict may never
come (the check takes seconds), and the tab stayed on "checking" until a reload.

So the tab's content is ours: a small script (served from ``static/``, no CDN,
no library) polls ``/racecheck/tally`` every second, whatever Locust's state, and
draws the rows and a chart of acknowledged votes against the tally and the votes
proven lost. The script is added to Locust's page by an ``after_request`` hook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, jsonify, request, send_from_directory

from loadtests.swarm.inside.master import MasterSide
from loadtests.swarm.tally import COLUMNS, TAB_KEY, TAB_TITLE

STATIC = Path(__file__).parent / "static"
# Relative URLs: Locust may serve its UI under a base path.
ASSETS = (
    '<link rel="stylesheet" href="./racecheck/static/tally.css">'
    '<script src="./racecheck/static/tally.js" defer></script>'
)


def install(master: MasterSide, web_ui: Any) -> None:
    """Add the Tally tab to ``web_ui`` (a locust.web.WebUI), fed by the master side."""
    # No extended_tables entry: Locust then draws nothing in the tab, and tally.js does.
    web_ui.template_args["extended_tabs"] = [{"title": TAB_TITLE, "key": TAB_KEY}]

    def add_assets(response: Response) -> Response:
        if request.path.rstrip("/") != request.script_root.rstrip("/") or (
            response.status_code != 200 or response.mimetype != "text/html"
        ):
            return response
        page = response.get_data(as_text=True)
        if "</body>" in page and ASSETS not in page:
            response.set_data(page.replace("</body>", ASSETS + "</body>", 1))
        return response

    def tally() -> Response:
        body = master.tally()
        body["columns"] = [{"key": key, "title": title} for key, title in COLUMNS]
        body["tab"] = TAB_KEY
        reply = jsonify(body)
        reply.headers["Cache-Control"] = "no-store"
        return reply

    def static(name: str) -> Response:
        return send_from_directory(STATIC, name, max_age=0)

    web_ui.app.after_request(add_assets)
    web_ui.app.add_url_rule("/racecheck/tally", "racecheck_tally", tally)
    web_ui.app.add_url_rule("/racecheck/static/<path:name>", "racecheck_static", static)
