"""Test helpers that ship with assay: real components that exercise backends (a fault-injecting proxy)."""
