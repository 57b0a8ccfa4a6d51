"""Subcommands of the ``llmdrift`` command line, one module each (see
:mod:`llmdrift.cli`)."""
