"""Reports: one writer per --out at a time; garbage reports and stored predictions are named."""

from __future__ import annotations

import pytest
from helpers import cli_argv, cli_error

from pe_lab.cli.experiment import main
from pe_lab.results.predictions import load_predictions
from pe_lab.results.records import read_report
from pe_lab.results.report_files import report_lock

pytestmark = pytest.mark.usefixtures("private_cache")  # decode into a cache of its own, no $PE_LAB_DATA


def test_a_second_run_on_the_same_out_is_refused_while_the_first_writes(tmp_path, capsys):
    out = tmp_path / "r.json"
    with report_lock(out):
        message = cli_error(capsys, cli_argv(tmp_path), code=1)
    assert "is being written by another run (pid" in message
    main(cli_argv(tmp_path))  # once the first run is done, the lock is free again
    assert read_report(out).runs


def test_a_garbage_report_is_named(tmp_path, capsys):
    (tmp_path / "r.json").write_text("{ not json")
    message = cli_error(capsys, cli_argv(tmp_path, "--resume"), code=1)
    assert "report" in message and "r.json cannot be read as JSON" in message


def test_garbage_stored_predictions_are_named(tmp_path):
    path = tmp_path / "p.pt"
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"stored predictions .*p.pt cannot be read"):
        load_predictions(path)
