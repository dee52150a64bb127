"""Benchmark data: a local folder in the hub's layout, the hub itself, or a user's files."""
