"""Tests of rasa."""
