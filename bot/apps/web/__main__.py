"""`python -m bot.apps.web [--host ADDRESS] --port N --rasa-url URL`: serve the public website.

The front server (bot/apps/web/proxy.py, aiohttp) listens on the port, on 127.0.0.1 unless --host
names another address (`--host 0.0.0.0` in a container behind a reverse proxy:
deploy/k8s/rasa.yaml). It forwards `/socket.io/` to the Rasa server and everything else to the
website app, which waitress serves on an internal loopback port chosen by the system, whatever
--host says: only the front server talks to it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading

from aiohttp import web
from waitress.server import create_server

from bot.apps import url_host
from bot.apps.web import WIDGET_BUNDLE, create_app, widget_installed
from bot.apps.web.proxy import MAX_PAGE_BODY, create_proxy

LOOPBACK = "127.0.0.1"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: --host (default 127.0.0.1), --port, --rasa-url."""
    parser = argparse.ArgumentParser(prog="python -m bot.apps.web", description=__doc__)
    parser.add_argument(
        "--host",
        default=LOOPBACK,
        help="address the front server listens on (default %(default)s; 0.0.0.0: every "
        "interface); the website app behind it stays on loopback",
    )
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--rasa-url", default="http://127.0.0.1:5005")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and serve until interrupted."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not widget_installed():
        print(f"error: {WIDGET_BUNDLE} is missing: run scripts/ensure-web.sh", file=sys.stderr)
        return 1
    app = create_app()
    # waitress on a free loopback port, in this process; only the front server talks to it
    pages = create_server(
        app,
        host=LOOPBACK,
        port=0,
        threads=8,
        ident="iop-website",
        max_request_body_size=MAX_PAGE_BODY,
    )
    try:
        front = create_proxy(f"http://{LOOPBACK}:{pages.effective_port}", args.rasa_url)
    except ValueError as exc:
        pages.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    threading.Thread(target=pages.run, name="waitress", daemon=True).start()
    print(
        f"website on http://{url_host(args.host)}:{args.port} (Rasa at {args.rasa_url})",
        flush=True,
    )
    # no access log: query strings carry the reminder links' tokens and the sockets' ids
    web.run_app(
        front, host=args.host, port=args.port, access_log=None, print=None, shutdown_timeout=5
    )
    pages.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
