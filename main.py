"""hireflow command line: ``python main.py --help``."""

from __future__ import annotations

import argparse
import logging
import sys

from dotenv import load_dotenv

from domain.errors import ConfigurationError, HireflowError


def build_parser() -> argparse.ArgumentParser:
    from cli import backup, ingest, local_env, report, schema, serve

    parser = argparse.ArgumentParser(prog="python main.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (schema, ingest, backup, report, serve, local_env):
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    load_dotenv()
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except ConfigurationError as error:
        print(f"hireflow: configuration error: {error.message}", file=sys.stderr)
        return 2
    except HireflowError as error:
        print(f"hireflow: {error.message}{_reason(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _reason(error: HireflowError) -> str:
    """The driver's reason an error carries in its details, on the same line."""
    reason = error.details.get("reason") if isinstance(error.details, dict) else None
    return f" ({reason})" if reason else ""


if __name__ == "__main__":
    sys.exit(main())
