"""Benchmarks of bridge against reference servers (`bridge-bench`)."""
