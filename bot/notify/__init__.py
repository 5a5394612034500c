"""Alerts to staff when an urgent or high flag opens (SPEC §4.1), and participants' reminders.

The delivery rows are written in the flag's own transaction by bot/db/alert_outbox.py; here
`transport` speaks HTTP and SMTP, `alert_messages` words each alert, `reminders` holds the
reminder rules and their queries, and `worker` (started by `python -m bot serve`, or alone as
`python -m bot worker`) sends what is due with retries, repeats unacknowledged urgent flags,
sends daily check-in reminders and opens `missed_checkins` flags. An alert names a flag's id,
kind, severity and time and links to the dashboard: never message text, names, contact details
or answers (42 CFR Part 2).
"""
