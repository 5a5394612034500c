"""Error pages: plain words, no stack traces, the same security headers as every page."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from bot.log import log_failure


class RowIdConverter(IntegerConverter):
    """`<int:...>` in every route: a row id fits the database's 64-bit integer, anything
    larger is a 404 like any other unknown id (the database would refuse it with a 500)."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


class StaffFlask(Flask):
    """Flask, logging unhandled errors without their messages (see log_failure), with row
    ids bounded in URLs (RowIdConverter)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.url_map.converters["int"] = RowIdConverter

    def log_exception(self, exc_info: Any) -> None:
        """Replaces Flask's log line, which prints the exception's message."""
        log_failure(self.logger, f"Exception on {request.path} [{request.method}]", exc_info[1])


def init_app(app: Flask) -> None:
    """Render HTTP errors (and a missing or wrong CSRF token) as short pages."""

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> Any:
        message = "The form expired or did not come from this site. Go back, reload and retry."
        return render_template("error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Any:
        code = error.code or 500
        if request.path == "/api" or request.path.startswith("/api/"):
            # API clients get JSON on every path under /api, routed or not, like the API's own
            # errors: an HTML page would break a client parsing the body. A path or method with
            # no route never reached the API's token check: without a valid token the answer
            # is the same 401 as on real routes, so the routes cannot be mapped without one.
            from bot.apps.staff.api import authenticate, json_error

            if code in (404, 405) and (refused := authenticate()) is not None:
                return refused
            response = json_error(code, (error.name or "error").lower())
            # e.g. Allow on a 405, which clients read
            for name, value in error.get_headers():
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response
        return render_template("error.html", code=code, message=error.description), code
