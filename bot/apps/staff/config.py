"""The staff app's configuration: defaults, the environment, and the session secret."""

from __future__ import annotations

import os
from pathlib import Path

from bot.settings import get_settings, stored_secret

SECRET_FILE = "staff_secret_key"  # noqa: S105 - a file name, not a secret
_TRUE = {"1", "true", "yes", "on"}


def secret_key(var_dir: Path) -> str:
    """IOP_STAFF_SECRET_KEY, or a key generated once into var/ for local use."""
    return stored_secret(var_dir, SECRET_FILE, "IOP_STAFF_SECRET_KEY")


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
        # Reverse proxies in front of the app whose X-Forwarded-For is trusted for the client
        # address (per-address sign-in lockout, audit); 0 when browsers connect directly.
        "TRUSTED_PROXIES": int(os.environ.get("IOP_STAFF_TRUSTED_PROXIES", "0")),
        # A tracker store instance to read transcripts from; None: SettingsSQLTrackerStore.
        "TRACKER_STORE": None,
    }
