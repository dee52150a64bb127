"""Fixtures shared with the leaderboard tests."""

from tests.leaderboard.conftest import cli

__all__ = ["cli"]
