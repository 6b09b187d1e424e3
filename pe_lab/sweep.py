"""``python -m pe_lab.sweep``, kept where users' scripts call it: the command lives in ``pe_lab.cli.sweep``."""

from .cli.sweep import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
