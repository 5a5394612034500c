"""How fast an urgent flag reaches staff: flag committed -> webhook POST and e-mail received.

Runs the real worker (`python -m bot worker`, as `serve` starts it) against a throwaway SQLite
or PostgreSQL database, a local HTTP receiver and a local SMTP server (aiosmtpd), opens flags
at a steady rate and prints delivery latency percentiles per channel, duplicates and losses;
then the same with the receiver down for a while (retries).

    .venv/bin/python bench/alerts.py [--flags 40] [--rate 2] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.db import get_sessionmaker  # noqa: E402
from bot.db.flags import open_flag  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.settings import get_settings  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.receivers import SmtpServer, WebhookReceiver  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(url: str, flags: int, rate: float, outage: float) -> None:
    receiver = WebhookReceiver(free_port()).start()
    smtp = SmtpServer(free_port()).start()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "IOP_ALERT_WEBHOOK_URL": receiver.url,
        "IOP_SMTP_URL": smtp.url,
        "IOP_ALERT_EMAIL_TO": "oncall@clinic.example",
        "PYTHONPATH": str(REPO),
    }
    os.environ.update({k: v for k, v in env.items() if k.startswith(("IOP_", "DATABASE"))})
    get_settings.cache_clear()
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    opened: dict[int, float] = {}
    try:
        time.sleep(3)
        if outage:
            receiver.stop()
        factory = get_sessionmaker(url)
        for _ in range(flags):
            with factory() as session, session.begin():
                flag = open_flag(
                    session,
                    kind="crisis",
                    severity="urgent",
                    conversation_id=f"bench-{uuid.uuid4().hex}",
                    reason="bench",
                    dedup_key=uuid.uuid4().hex,
                )
                flag_id = flag.id
            opened[flag_id] = time.time()
            time.sleep(1 / rate)
        if outage:
            time.sleep(max(outage - flags / rate, 0))
            receiver.start()
        deadline = time.time() + 120
        while time.time() < deadline:
            if (
                len({r.json["flag_id"] for r in receiver.acknowledged}) >= flags
                and len(smtp.messages) >= flags
            ):
                break
            time.sleep(0.2)
        time.sleep(3)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        receiver.stop()
        smtp.stop()
    label = f"webhook receiver down for the first {outage:.0f} s" if outage else "receivers up"
    print(f"{label}: {flags} urgent flags opened at {rate}/s")
    webhook: dict[int, list[float]] = {}
    for item in receiver.acknowledged:
        webhook.setdefault(item.json["flag_id"], []).append(item.received_at)
    email: dict[int, list[float]] = {}
    for message in smtp.messages:
        flag_id = int(message["Subject"].split("#")[1].split()[0])
        email.setdefault(flag_id, []).append(float(message["X-Received-At"]))
    for name, delivered in (("webhook", webhook), ("email", email)):
        mine = {f: times for f, times in delivered.items() if f in opened}
        lost = len([f for f in opened if f not in mine])
        duplicated = len([f for f, times in mine.items() if len(times) > 1])
        latency = [min(times) - opened[f] for f, times in mine.items()]
        figures = (
            f"p50 {statistics.median(latency):.2f} s, p95 {percentile(latency, 95):.2f} s, "
            f"max {max(latency):.2f} s"
            if latency
            else "-"
        )
        print(
            f"  {name:8} delivered {len(mine)}/{flags}, lost {lost}, duplicated {duplicated}; "
            f"flag committed -> received: {figures}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flags", type=int, default=40)
    parser.add_argument("--rate", type=float, default=2.0, help="flags opened per second")
    parser.add_argument("--database-url", help="default: a throwaway SQLite file")
    args = parser.parse_args()
    for outage in (0.0, 30.0):
        url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='iop-alerts-')}/iop.db"
        upgrade(url)
        run(url, args.flags, args.rate, outage)
    return 0


if __name__ == "__main__":
    sys.exit(main())
