"""``python -m pe_lab.bench``, kept where users' scripts call it: the command lives in ``pe_lab.cli.bench``."""

from .cli.bench import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
