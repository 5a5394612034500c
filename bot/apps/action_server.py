"""The action server: rasa_sdk's, answering only the Rasa server and never echoing a request.

`rasa run actions` answers any local process (a forged call to `action_submit_assessment`
with an empty tracker stored an assessment and opened a flag), allows every web origin, and
its error answer echoes the request, i.e. the tracker with the user's messages. Here every
route but /health needs the shared secret IOP_ACTION_TOKEN in the X-Action-Token header
(the Rasa server sends it: `bot.ops.stack.endpoints_for`), no origin is allowed, and a failure
answers and logs only the exception's type. A background task stores what the durable queue
holds (finished forms the database could not take, actions/durable.py) every few seconds.

Run: `python -m bot.apps.action_server --port 5055` with IOP_ACTION_TOKEN set (`python -m bot
serve` makes one per start; set it yourself when Rasa and the actions run on different hosts).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import logging
import os
import sys

from rasa_sdk import endpoint
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.log import log_failure
from bot.settings import ACTION_TOKEN_ENV, ACTION_TOKEN_HEADER

logger = logging.getLogger(__name__)

# Shorter secrets are refused: the token is all that stands between a local process and the
# actions that write records.
MIN_TOKEN_CHARS = 32
OPEN_PATHS = frozenset({"/health"})


def create_app(token: str, actions: str = "actions") -> Sanic:
    """rasa_sdk's app for the `actions` package, behind the shared secret `token`."""
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"{ACTION_TOKEN_ENV} must be at least {MIN_TOKEN_CHARS} characters")
    app = endpoint.create_app(actions, cors_origins=None)
    expected = token.encode()

    @app.middleware("request")
    async def only_rasa(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get(ACTION_TOKEN_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return response.json({"error": "not allowed"}, status=401)
        return None

    # Replaces rasa_sdk's handler, which answers with the request body and logs the message.
    @app.exception(Exception)
    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        log_failure(logger, "action server: a request failed", exception)
        status = getattr(exception, "status_code", 500)
        status = status if isinstance(status, int) and 400 <= status < 600 else 500
        return response.json({"error": "the action server could not do that"}, status=status)

    @app.after_server_start
    async def start_draining(app: Sanic, _: object) -> None:
        app.add_task(drain_forever(retry_seconds()))

    return app


def retry_seconds() -> float:
    """How often the durable queue is retried (IOP_SPOOL_RETRY_SECONDS, default 5)."""
    return float(os.environ.get("IOP_SPOOL_RETRY_SECONDS", "5"))


async def drain_forever(every: float) -> None:
    """Store what the durable queue holds (actions/durable.py) every `every` seconds."""
    from actions.durable import drain

    while True:
        try:
            await asyncio.to_thread(drain)
        except Exception as error:  # noqa: BLE001 - the loop must outlive any one failure
            logger.error("durable queue: drain failed (%s)", type(error).__name__)
        await asyncio.sleep(every)


def main(argv: list[str] | None = None) -> int:
    """Serve the actions on 127.0.0.1 (SANIC_HOST) until stopped."""
    parser = argparse.ArgumentParser(prog="python -m bot.apps.action_server", description=__doc__)
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--actions", default="actions")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    token = os.environ.get(ACTION_TOKEN_ENV, "")
    try:
        app = create_app(token, args.actions)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    host = os.environ.get("SANIC_HOST", "127.0.0.1")
    logger.info("action server on http://%s:%s", host, args.port)
    app.run(host, args.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
