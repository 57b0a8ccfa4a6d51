"""The ``llmdrift`` command line.

Each subcommand lives in its own module under :mod:`llmdrift.commands`; the
module defines ``add_parser(subparsers)``, which registers the subcommand and
sets ``func`` on its parser to a callable taking the parsed arguments and
returning the process exit code.

An unexpected exception (a bug, not bad input, which each subcommand
reports itself) is printed as one line asking to report it, with exit code
2, so that ``llmdrift alerts``' exit code 1 always means "alerts fired".
``--debug`` (on subcommands that have it) or the environment variable
``LLMDRIFT_DEBUG=1`` print the traceback as well.

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
import os
import sys
import traceback

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
    try:
        return int(args.func(args) or 0)
    except Exception as exc:  # noqa: BLE001 - a bug must not read as an exit code
        _internal_error(args, exc)
        return 2


def _internal_error(args, exc: Exception) -> None:
    """One line on stderr for an unexpected exception; the traceback on request.

    Examples
    --------
    >>> import argparse, contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     _internal_error(argparse.Namespace(command="alerts"), KeyError("rule"))
    >>> print(err.getvalue().strip()[:60])
    llmdrift alerts: internal error (KeyError: 'rule'); please r
    """
    debug = getattr(args, "debug", False) or os.environ.get(
        "LLMDRIFT_DEBUG", ""
    ).strip() not in ("", "0")
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    text = " ".join(str(exc).split()) or "no message"
    if len(text) > 300:
        text = text[:297] + "..."
    how = (
        "--debug or LLMDRIFT_DEBUG=1"
        if hasattr(args, "debug")
        else ("LLMDRIFT_DEBUG=1")
    )
    more = "" if debug else f"; rerun with {how} for the traceback"
    print(
        f"llmdrift {args.command}: internal error ({type(exc).__name__}: {text}); "
        f"please report this, with the command line, as an llmdrift bug{more}",
        file=sys.stderr,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
