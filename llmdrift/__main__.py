"""``python -m llmdrift ...``: the same command line as ``llmdrift ...``."""

import sys

from llmdrift.cli import main

if __name__ == "__main__":
    sys.exit(main())
