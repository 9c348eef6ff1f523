"""Command-line entry points. Each module adds its subcommands with ``register(subparsers)``."""
