"""Use cases and the ports they need. Nothing here imports Flask, Celery, SQLAlchemy or Azure."""
