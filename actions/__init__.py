"""Custom actions for the Rasa action server (`rasa run actions`), one module per feature."""
