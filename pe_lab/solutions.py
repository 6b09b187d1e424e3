"""``python -m pe_lab.solutions``, kept where users' scripts call it: the command lives in ``pe_lab.cli.solutions``."""

import sys

from .cli.solutions import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
