"""Tests of notify."""
