"""Tests of rasa/nlu."""
