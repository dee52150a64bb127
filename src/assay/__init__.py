"""assay: evaluate language models on standard benchmarks and your own suites."""

__version__ = "0.1.0"
