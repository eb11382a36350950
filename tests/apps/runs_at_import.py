"""A tutorial's app.py, run line and all: ``app.run()`` at module level, unguarded."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "hello"


app.run(port=5000)
