"""The floor for pages: a Flask app with one view, served by the same gunicorn settings as LoveMart."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "ok"
