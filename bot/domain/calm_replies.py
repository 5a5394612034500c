"""Replies built in code, for the rare paths where Rasa's responses cannot be used."""

from __future__ import annotations

from bot.settings import get_settings


def something_went_wrong() -> str:
    """What a visitor sees when the server failed on their message."""
    values = get_settings().clinic.response_values()
    return (
        "Sorry, something went wrong on my side. Please try again in a moment. If you need help "
        f"now, call {values['clinic_phone']}, or call or text {values['crisis_lifeline']} any time."
    )


def slow_down() -> str:
    """What a visitor sees when their messages come faster than any person types."""
    values = get_settings().clinic.response_values()
    return (
        "You're sending messages faster than I can read them. Please wait a few seconds and send "
        f"your message again. If you need help now, call {values['clinic_phone']}, or call or "
        f"text {values['crisis_lifeline']} any time."
    )
