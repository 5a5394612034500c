"""Custom Rasa NLU graph components and their pattern files."""
