"""Celery: the broker that hands jobs to workers (Redis, or a folder on the embedded default)."""
