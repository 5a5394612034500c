"""Error pages: plain words, no stack traces, the same security headers as every page."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


def init_app(app: Flask) -> None:
    """Render HTTP errors (and a missing or wrong CSRF token) as short pages."""

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> Any:
        message = "The form expired or did not come from this site. Go back, reload and retry."
        return render_template("error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Any:
        code = error.code or 500
        return render_template("error.html", code=code, message=error.description), code
