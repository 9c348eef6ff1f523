"""Backups of the hiring tables: the catalogue in storage, taking a backup, restoring one, and their jobs."""
