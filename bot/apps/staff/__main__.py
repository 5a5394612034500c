"""`python -m bot.apps.staff [--host ADDRESS] --port N`: the staff app under waitress.

It listens on 127.0.0.1 unless --host names another address: `--host 0.0.0.0` in a container
behind a reverse proxy (deploy/k8s/staff.yaml), with IOP_STAFF_TRUSTED_PROXIES and
IOP_STAFF_SECURE_COOKIES set for it (deploy/README.md, "Behind the Ingress").
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

LOOPBACK = "127.0.0.1"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line: --host (default 127.0.0.1), --port, --threads."""
    parser = argparse.ArgumentParser(prog="python -m bot.apps.staff", description=__doc__)
    parser.add_argument(
        "--host",
        default=LOOPBACK,
        help="address to listen on (default %(default)s; 0.0.0.0: every interface)",
    )
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=8)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Bring the schema up to date, then serve the staff app until stopped."""
    args = parse_args(argv)

    import waitress

    from bot.apps import url_host
    from bot.apps.staff import create_app
    from bot.db.migrate import upgrade

    # INFO, never DEBUG: nothing below logs request bodies, and waitress logs no access lines.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app()
    upgrade(app.config["DATABASE_URL"])
    print(f"staff app on http://{url_host(args.host)}:{args.port}", flush=True)
    waitress.serve(app, host=args.host, port=args.port, threads=args.threads, ident="iop-staff")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
