"""Training: the recipe's checks (``recipe``), one step (``step``), the checkpoint and a run's identity
(``checkpoint``), the loop (``loop``: ``fit``), the engines' choice (``engines``), the Lightning engine
(``lightning``) and the named recipes (``presets``)."""
