"""The CI gate: evaluate a candidate where needed, compare with a baseline on the same samples, decide."""
