"""`python -m bot.web --port N --rasa-url URL`: serve the public website on 127.0.0.1."""

from __future__ import annotations

import argparse
import logging
import sys

from waitress import serve

from bot.web import WIDGET_BUNDLE, create_app, widget_installed

LOOPBACK = "127.0.0.1"


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m bot.web", description=__doc__)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--rasa-url", default="http://127.0.0.1:5005")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not widget_installed():
        print(f"error: {WIDGET_BUNDLE} is missing: run scripts/ensure-web.sh", file=sys.stderr)
        return 1
    try:
        app = create_app(args.rasa_url)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"website on http://{LOOPBACK}:{args.port} (Rasa at {args.rasa_url})", flush=True)
    serve(app, host=LOOPBACK, port=args.port, threads=8, ident="iop-website")
    return 0


if __name__ == "__main__":
    sys.exit(main())
