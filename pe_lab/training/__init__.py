"""Training: the recipe's checks (``recipe``), one step (``step``), the checkpoint and a run's identity
(``checkpoint``), the loop (``loop``: ``fit``), the engine's choice, checked before any data is read,
and the process's rank (``engine_choice``), and the Lightning engine (``lightning``)."""
