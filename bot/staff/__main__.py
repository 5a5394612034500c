"""`python -m bot.staff --port N`: the staff app under waitress, on 127.0.0.1 only."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

LOOPBACK = "127.0.0.1"


def main(argv: Sequence[str] | None = None) -> int:
    """Bring the schema up to date, then serve the staff app until stopped."""
    parser = argparse.ArgumentParser(prog="python -m bot.staff", description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)

    import waitress

    from bot.db.migrate import upgrade
    from bot.staff import create_app

    # INFO, never DEBUG: nothing below logs request bodies, and waitress logs no access lines.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app()
    upgrade(app.config["DATABASE_URL"])
    print(f"staff app on http://{LOOPBACK}:{args.port}", flush=True)
    waitress.serve(app, host=LOOPBACK, port=args.port, threads=args.threads, ident="iop-staff")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
