"""Command line: `python -m bot <command>`; every command prints JSON with --json."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from bot.db.models import API_TOKEN_ROLES, STAFF_ROLES
from bot.ops.stack import Stack, StackError
from bot.settings import get_settings


def _print(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


@contextmanager
def _database_session() -> Iterator[Session]:
    """Bring the schema up to date, then one transaction for a database command."""
    from bot.db import get_sessionmaker
    from bot.db.migrate import upgrade

    upgrade()
    with get_sessionmaker()() as session, session.begin():
        yield session


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def cmd_init_db(args: argparse.Namespace) -> int:
    """Create or upgrade the database schema (idempotent)."""
    from sqlalchemy.engine import make_url

    from bot.db.migrate import create_database, upgrade

    url = get_settings().database_url
    created = bool(args.create_database) and create_database(url)
    tables = upgrade(url)
    _print(
        {
            "database": make_url(url).render_as_string(hide_password=True),
            "created": created,
            "tables": tables,
        },
        args.json,
    )
    return 0


def cmd_enroll(args: argparse.Namespace) -> int:
    """Enroll a participant and print their personal check-in link (shown only this once)."""
    from bot.db.participants import enroll
    from bot.notify.reminders import clock_text, parse_clock, set_reminder

    remind_at = None
    if args.remind_at:
        remind_at = parse_clock(args.remind_at)
        if remind_at is None or not args.email:
            return _fail("--remind-at needs a time such as 19:00 or 7pm, and --email", 2)
    try:
        with _database_session() as session:
            enrollment = enroll(session, args.name)
            if remind_at is not None:
                reminder = set_reminder(
                    session,
                    enrollment.participant_id,
                    local_time=remind_at,
                    email=args.email,
                    timezone=args.timezone,
                )
    except ValueError as exc:  # ReminderError too: nothing is stored
        return _fail(str(exc), 2)
    result = {
        "participant_id": enrollment.participant_id,
        "token": enrollment.token,
        "link": enrollment.link,
    }
    if remind_at is not None:
        result["reminder"] = f"daily at {clock_text(remind_at)} ({reminder.timezone})"
    _print(result, args.json)
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    """Revoke a participant's link; their history stays."""
    from bot.db.participants import revoke

    with _database_session() as session:
        found = revoke(session, args.participant_id)
    if not found:
        return _fail(f"no participant {args.participant_id}", 1)
    _print({"participant_id": args.participant_id, "revoked": True}, args.json)
    return 0


def cmd_create_staff(args: argparse.Namespace) -> int:
    """Create a staff login; the password comes from STAFF_PASSWORD or a prompt."""
    import getpass
    import os

    from bot.db.staff_accounts import AccountError, create_staff

    password = os.environ.get("STAFF_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            return _fail("set STAFF_PASSWORD or run in a terminal", 2)
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            return _fail("the passwords differ", 2)
    try:
        with _database_session() as session:
            user = create_staff(session, args.username, password, args.role)
            result = {"id": user.id, "username": user.username, "role": user.role}
    except AccountError as exc:
        return _fail(str(exc), 1)
    _print(result, args.json)
    return 0


def cmd_api_token(args: argparse.Namespace) -> int:
    """Create a bearer token for the staff JSON API or the REST channel (shown only once)."""
    from bot.db.staff_accounts import AccountError, create_api_token

    try:
        with _database_session() as session:
            row, token = create_api_token(session, args.name, args.role)
            result = {"id": row.id, "name": row.name, "role": row.role, "token": token}
    except AccountError as exc:
        return _fail(str(exc), 1)
    _print(result, args.json)
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete anonymous conversations and assessments past the retention period."""
    from rasa.shared.core.domain import Domain

    from bot.ops.retention import purge
    from bot.rasa.tracker_store import SettingsSQLTrackerStore

    days = args.days if args.days is not None else get_settings().clinic.retention_days
    if days < 1:
        return _fail("--days must be at least 1", 2)
    with _database_session() as session:
        store = SettingsSQLTrackerStore(domain=Domain.empty())
        result = purge(session, store, days, dry_run=args.dry_run)
    _print(
        {
            "days": days,
            "dry_run": args.dry_run,
            "assessments_deleted": result.assessments,
            "conversations_deleted": result.conversations,
        },
        args.json,
    )
    return 0


def _demo_logins() -> dict[str, str]:
    """A local demo admin (fresh password), a demo participant link (fresh token) and a REST
    channel token (the previous demo one revoked)."""
    from sqlalchemy import select, update

    from bot.db.models import ApiToken, Participant, utcnow
    from bot.db.participants import enroll, new_participant_link
    from bot.db.staff_accounts import create_api_token, reset_demo_staff

    with _database_session() as session:
        staff = reset_demo_staff(session)
        if staff is None:  # not SQLite: no demo accounts near real records
            return {}
        demo = session.execute(
            select(Participant.id).where(Participant.display_name == DEMO_PARTICIPANT)
        ).scalar()
        link = new_participant_link(session, demo) if demo else enroll(session, DEMO_PARTICIPANT)
        session.execute(
            update(ApiToken)
            .where(ApiToken.name == DEMO_CHANNEL, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        channel_token = create_api_token(session, DEMO_CHANNEL, "channel")[1]
        return {
            "staff_login": f"{staff[0]} / {staff[1]}",
            "demo_participant_link": link.link,
            "rest_channel_token": channel_token,
        }


DEMO_PARTICIPANT = "Demo participant"
DEMO_CHANNEL = "demo REST channel"


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the whole stack in the foreground until Ctrl-C."""
    settings = get_settings()
    stack = Stack(
        model=Path(args.model) if args.model else settings.model_path,
        rasa_port=args.rasa_port,
        action_port=args.action_port,
        replicas=args.replicas,
        staff_port=args.staff_port or None,
        web_port=args.web_port or None,
        worker=True,
        log_dir=settings.var_dir / "log",
    )
    if args.staff_port and "IOP_STAFF_URL" not in os.environ:
        # alerts link to the staff app this command starts
        stack.extra_env["IOP_STAFF_URL"] = stack.staff_url
    servers = (
        "the action server, Rasa"
        if args.replicas == 1
        else (f"{args.replicas} action servers and {args.replicas} Rasa servers behind nginx")
    )
    print(f"starting {servers}, the staff app and the website (about 60 s) ...", flush=True)
    try:
        stack.start()
    except StackError as exc:
        return _fail(str(exc), 1)
    urls = {
        "website": stack.web_url if args.web_port else None,
        "staff_app": stack.staff_url if args.staff_port else None,
        "rest_webhook": f"{stack.rasa_url}/webhooks/rest/webhook",
        "action_server": stack.action_url,
        "rasa_servers": ", ".join(stack.rasa_backend_urls) if args.replicas > 1 else None,
        "logs": str(stack.log_dir),
        "alert_channels": ", ".join(settings.alerts.channels) or "none (see README: Alerts)",
    }
    if args.demo:
        urls.update(_demo_logins())
    else:
        urls["staff_login"] = "python -m bot create-staff --username NAME --role admin"
    _print({k: v for k, v in urls.items() if v}, args.json)
    print("ready; press Ctrl-C to stop", flush=True)
    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping:
            # A child that dies is restarted with backoff; the others keep serving.
            for line in stack.supervise():
                print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)
            time.sleep(0.5)
    finally:
        stack.stop()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Send alerts and reminders until stopped (`serve` starts one with the stack)."""
    import logging
    import threading

    from bot.db.migrate import upgrade
    from bot.notify.worker import Worker

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    upgrade()
    worker = Worker()
    if args.once:
        _print(worker.run_once(), args.json)
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker.run_forever(stop, interval=args.interval)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print results as JSON")
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    init_db = commands.add_parser(
        "init-db", parents=[common], help="create or upgrade the database schema"
    )
    init_db.add_argument(
        "--create-database",
        action="store_true",
        help="first create the PostgreSQL database DATABASE_URL names, if it does not exist",
    )
    init_db.set_defaults(func=cmd_init_db)

    enroll = commands.add_parser(
        "enroll", parents=[common], help="enroll a participant, print their check-in link"
    )
    enroll.add_argument("--name", required=True, help="how staff will see the participant")
    enroll.add_argument("--email", help="for daily check-in reminders (with --remind-at)")
    enroll.add_argument("--remind-at", help="daily reminder time, e.g. 19:00 or 7pm")
    enroll.add_argument("--timezone", help="the participant's, e.g. America/Chicago")
    enroll.set_defaults(func=cmd_enroll)

    revoke = commands.add_parser("revoke", parents=[common], help="revoke a participant's link")
    revoke.add_argument("participant_id", type=int)
    revoke.set_defaults(func=cmd_revoke)

    staff = commands.add_parser("create-staff", parents=[common], help="create a staff login")
    staff.add_argument("--username", required=True)
    staff.add_argument("--role", required=True, choices=STAFF_ROLES)
    staff.set_defaults(func=cmd_create_staff)

    api_token = commands.add_parser(
        "api-token",
        parents=[common],
        help="a bearer token for the staff JSON API or the REST channel",
    )
    api_token.add_argument("--name", required=True, help="who or what uses the token")
    api_token.add_argument(
        "--role",
        default="clinician",
        choices=API_TOKEN_ROLES,
        help="clinician or admin: the staff JSON API; channel: the REST chat channel",
    )
    api_token.set_defaults(func=cmd_api_token)

    purge = commands.add_parser(
        "purge",
        parents=[common],
        help="delete anonymous conversations and assessments past the retention period",
    )
    purge.add_argument("--days", type=int, help="default: retention_days in content/clinic.yml")
    purge.add_argument("--dry-run", action="store_true", help="count only, delete nothing")
    purge.set_defaults(func=cmd_purge)

    worker = commands.add_parser(
        "worker", parents=[common], help="send staff alerts and participant reminders"
    )
    worker.add_argument("--once", action="store_true", help="one pass, then exit")
    worker.add_argument("--interval", type=float, default=2.0, help="seconds between passes")
    worker.set_defaults(func=cmd_worker)

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="start Rasa, the action server, the staff app and the website",
    )
    serve.add_argument("--model", help="trained model (default: models/iop.tar.gz)")
    serve.add_argument("--rasa-port", type=int, default=5005)
    serve.add_argument("--action-port", type=int, default=5055)
    serve.add_argument("--staff-port", type=int, default=8000, help="0: no staff app")
    serve.add_argument("--web-port", type=int, default=8080, help="0: no website")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="print a demo staff login and participant link (local SQLite only)",
    )
    serve.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="Rasa servers and action servers each; above 1 they run behind nginx and need "
        "LOCK_STORE_URL (Redis) and a shared DATABASE_URL (the production profile)",
    )
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run one command; returns the exit code."""
    args = build_parser().parse_args(argv)
    return args.func(args)
