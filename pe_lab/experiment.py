"""``python -m pe_lab.experiment``, kept where users' scripts call it: the command lives in
``pe_lab.cli.experiment``."""

from .cli.experiment import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
