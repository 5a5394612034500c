"""The staff app's configuration: defaults, the environment, and the session secret."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bot.settings import get_settings

SECRET_FILE = "staff_secret_key"  # noqa: S105 - a file name, not a secret
_TRUE = {"1", "true", "yes", "on"}


def secret_key(var_dir: Path) -> str:
    """IOP_STAFF_SECRET_KEY, or a key generated once into var/ for local use."""
    from_env = os.environ.get("IOP_STAFF_SECRET_KEY")
    if from_env:
        return from_env
    path = var_dir / SECRET_FILE
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        # Created with owner-only permissions; O_EXCL so two processes never write two keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


def default_config() -> dict:
    """Configuration from settings and the environment; create_app's overrides win over it."""
    settings = get_settings()
    return {
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": None,  # filled lazily by create_app unless overridden
        # Signed out after this many minutes without a request (SPEC §5: idle session expiry).
        "IDLE_TIMEOUT_MINUTES": int(os.environ.get("IOP_STAFF_IDLE_MINUTES", "15")),
        # ...and after this many hours from sign-in however active (a copied cookie kept busy by
        # a script would otherwise never expire).
        "MAX_SESSION_HOURS": int(os.environ.get("IOP_STAFF_MAX_SESSION_HOURS", "12")),
        "SESSION_COOKIE_NAME": "iop_staff_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Off by default so the local http run works; turn on behind HTTPS.
        "SESSION_COOKIE_SECURE": os.environ.get("IOP_STAFF_SECURE_COOKIES", "").lower() in _TRUE,
        "WTF_CSRF_ENABLED": True,
        "MAX_CONTENT_LENGTH": 64 * 1024,
        # A tracker store instance to read transcripts from; None: SettingsSQLTrackerStore.
        "TRACKER_STORE": None,
    }
