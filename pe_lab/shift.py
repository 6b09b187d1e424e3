"""``python -m pe_lab.shift``, kept where users' scripts call it: the command lives in ``pe_lab.cli.shift``."""

from .cli.shift import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
