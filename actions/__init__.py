"""Custom actions for the action server (`python -m bot.action_server`), one module each."""
