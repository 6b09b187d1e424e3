"""What the notebooks show and ask: figures (``viz``), explorers (``explorers``), exercises and their checkers
(``exercises``), the instructor's solutions (``solutions``) and the 2-D toy (``toy``). The only package that
imports matplotlib, plotly or ipywidgets."""
