"""Floor 6, what runs produce: costs measured with the training step (``cost``), reports and committed results
(``report``), provenance (``provenance``) and the in-notebook comparison run (``runs``: ``compare_methods``)."""
