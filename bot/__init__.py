"""IOP Assistant: everything that is not Rasa glue (settings, data layer, NLU components, CLI)."""
