"""The ``llmdrift`` command line.

Each subcommand lives in its own module under :mod:`llmdrift.commands`; the
module defines ``add_parser(subparsers)``, which registers the subcommand and
sets ``func`` on its parser to a callable taking the parsed arguments and
returning the process exit code.

Examples
--------
>>> from llmdrift.cli import build_parser
>>> parser = build_parser()
>>> parser.prog
'llmdrift'
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand name -> module under llmdrift.commands that registers it
COMMANDS = ("ingest", "alerts", "report")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="llmdrift",
        description="Find and explain LLM quality regressions in traces.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"llmdrift.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"llmdrift.commands.{name}":
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (also used by ``sys.exit``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
