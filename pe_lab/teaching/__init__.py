"""Floor 7, the teaching face: figures (``viz``), explorers (``explorers``), exercises and their checkers
(``exercises``), the instructor's solutions (``solutions``) and the 2-D toy (``toy``). The only floor that
imports matplotlib, plotly or ipywidgets."""
