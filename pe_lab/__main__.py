"""``python -m pe_lab COMMAND ...``: the same commands as ``pe-lab COMMAND ...``."""

import sys

from .cli.main import console

if __name__ == "__main__":
    sys.exit(console())
