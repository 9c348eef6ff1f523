"""Benchmarks of the ingestion, memory, backup and restore paths: ``make bench`` (or ``make bench QUICK=1``)."""
