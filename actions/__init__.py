"""Custom actions for the action server (`python -m bot.apps.action_server`), one module each."""
