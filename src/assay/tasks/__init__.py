"""Tasks: declarative YAML specs, the built-in benchmarks, and turning rows into samples and requests."""
