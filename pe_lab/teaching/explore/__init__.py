"""Each explorer as a state space and a drawing: its controls with the values they allow (``state``), and a
``draw(**state)`` that returns the figures, the HTML summary and the numbers of one state. The kernel explorers
(``pe_lab.teaching.explorers``, ipywidgets) and the static site (``explore.site``, precomputed at build time) are
both made from these definitions, so a student sees one explorer in either."""
