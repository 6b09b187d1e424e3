"""What runs produce: experiment reports and sweeps as typed records (``records``: ``Report``, ``Sweep``, their
readers and writer), reading reports with their stored predictions and the lock (``report_files``), the
predictions and sample images stored beside them (``predictions``), their tables (``tables``), generated sentences
(``prose``) and comparisons over seeds (``comparisons``), the committed sweeps (``sweeps``); costs measured with the
training step (``cost``), provenance (``provenance``), committed trained models (``trained``), torch-uncertainty's
tutorial and its own reports (``tutorial``) and the in-notebook comparison that trains and measures each method
(``train_and_measure``: ``compare_methods``)."""
