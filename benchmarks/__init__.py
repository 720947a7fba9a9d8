"""Measurements, not tests: the speed harness (``python -m benchmarks``), data throughput
and quality runs. See README.md here."""
