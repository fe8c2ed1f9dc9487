"""Measuring the pipeline against labels: case-level precision/recall and detector recall/AP.

Kept beside the pipeline (no web code) so that the CLI (``civicwatch eval``), the benchmarks and
the integration tests all score with the same code.
"""
