"""Floor 8, the command lines: ``experiment``, ``bench``, ``shift``, ``sweep``, ``solutions`` (and
``pe_lab.data.datapack``'s ``main``). Nothing below imports from here; notebooks use the face, ``pe_lab``.
``pe-lab experiment`` and the other commands of the README still work: ``pe_lab/<command>.py``
forwards to the module here."""
