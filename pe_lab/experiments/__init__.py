"""Experiments as typed records and the Python calls that run them: ``run_experiment(experiment)``, the sweeps
and the shift evaluation. The command lines in ``pe_lab.cli`` only parse their flags into these records."""
