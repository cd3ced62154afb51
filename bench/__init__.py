"""Benchmarks of ideogram-assets, run with `python -m bench` (method: docs/BENCHMARKS.md)."""
