"""The command lines, the top layer: ``pe-lab COMMAND`` (or ``python -m pe_lab COMMAND``) dispatches to the module of
that name here (``experiment``, ``sweep``, ``shift``, ``bench``, ``tutorial``, ``solutions``, ``datapack``; see
``main.COMMANDS``). Each only parses its flags into the Python API's records and calls it; nothing below imports
from here, and notebooks use the ``pe_lab`` namespace."""
