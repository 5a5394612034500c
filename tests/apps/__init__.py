"""Tests of apps."""
