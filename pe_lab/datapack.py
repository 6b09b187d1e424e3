"""``python -m pe_lab.datapack``, kept where users' scripts call it: the command lives in ``pe_lab.data.datapack``."""

from .data.datapack import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
