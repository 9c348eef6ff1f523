"""Background jobs: submitting them, running them, their progress, the sweep, and which may run together."""
