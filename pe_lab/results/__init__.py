"""What runs produce: costs measured with the training step (``cost``); reports and committed results, read and
written by ``report_files`` (with the lock), their stored predictions and sample images (``predictions``), their
tables (``tables``), generated sentences (``prose``) and comparisons over seeds (``comparisons``), the committed
sweeps (``sweeps``), all re-exported by ``report``; provenance (``provenance``) and the in-notebook comparison
that trains and measures each method (``train_and_measure``: ``compare_methods``)."""
