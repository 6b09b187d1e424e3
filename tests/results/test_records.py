"""Reports and sweeps as typed records: every loader reads them through one validating reader
(``pe_lab.results.records``), whose errors name the file and the field (a missing, wrong or unknown one) instead
of a bare KeyError later; every committed file reads and writes back unchanged; and no record its reader would
refuse is ever written."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shutil

import pytest

from pe_lab.config import assets_dir
from pe_lab.results import report_files, sweeps
from pe_lab.results.record_checks import check_report, check_sweep
from pe_lab.results.records import Report, ReportError, Sweep, read_report, read_sweep, write_record
from pe_lab.results.report_files import load_results

RESULTS = assets_dir() / "results"
REPORT = json.loads((RESULTS / "tutorial_lenet.json").read_text())
SWEEP = json.loads((RESULTS / "sweep_alpha_lenet.json").read_text())


def _edited(record: dict, path: str, value=KeyError) -> dict:
    """A deep copy of ``record`` with the field at ``path`` (``runs.0.metrics.accuracy``) set, or deleted."""
    record = copy.deepcopy(record)
    *parents, last = path.split(".")
    here = record
    for key in parents:
        here = here[int(key)] if isinstance(here, list) else here[key]
    last = int(last) if isinstance(here, list) else last
    if value is KeyError:
        del here[last]
    else:
        here[last] = value
    return record


def _committed_records() -> list[tuple[str, object]]:
    """Every committed report and sweep under ``assets/``: (kind, path). A tutorial report (its own record kind:
    runs without a spec) is not an experiment report."""
    found = []
    for path in sorted(assets_dir().glob("**/*.json")):
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            continue
        if "rows" in data:
            found.append(("sweep", path))
        elif {"provenance", "runs"} <= set(data) and all(isinstance(r, dict) and "spec" in r for r in data["runs"]):
            found.append(("report", path))
    return found


COMMITTED = _committed_records()


def test_the_committed_records_are_found():
    kinds = [kind for kind, _ in COMMITTED]
    assert kinds.count("sweep") >= 2 and kinds.count("report") >= 10, COMMITTED
    assert RESULTS / "cifar10_resnet20.json" in {path for _, path in COMMITTED}


@pytest.mark.parametrize(("kind", "path"), COMMITTED, ids=[str(p.relative_to(assets_dir())) for _, p in COMMITTED])
def test_every_committed_report_and_sweep_reads_and_writes_back_unchanged(kind, path, tmp_path):
    record = (read_sweep if kind == "sweep" else read_report)(path)
    assert isinstance(record, Sweep if kind == "sweep" else Report)
    assert record.to_json() == json.loads(path.read_text())
    write_record(record, tmp_path / path.name)
    assert json.loads((tmp_path / path.name).read_text()) == json.loads(path.read_text())


@pytest.mark.parametrize(("path", "message"), [
    ("runs.0.acuracy_x", r"runs\[0\]\.acuracy_x is not a field of a Run"),
    ("acuracy_x", r"acuracy_x is not a field of a Report"),
    ("provenance.acuracy_x", r"provenance\.acuracy_x is not a field of a Provenance"),
    ("provenance.data.acuracy_x", r"provenance\.data\.acuracy_x is not a field of a DataRecord"),
])
def test_an_unknown_key_in_a_report_is_refused_naming_the_file_and_the_field(tmp_path, path, message):
    out = tmp_path / "x.json"
    out.write_text(json.dumps(_edited(REPORT, path, 0.5)))
    with pytest.raises(ReportError, match=f"x.json: {message}"):
        read_report(out)


@pytest.mark.parametrize(("path", "message"), [
    ("rows.1.acuracy_x", r"rows\[1\]\.acuracy_x is not a field of a SweepRow"),
    ("rows.0.runs.2.acuracy_x", r"rows\[0\]\.runs\[2\]\.acuracy_x is not a field of a Run"),
    ("acuracy_x", r"acuracy_x is not a field of a Sweep"),
])
def test_an_unknown_key_in_a_sweep_is_refused_naming_the_file_and_the_field(tmp_path, path, message):
    out = tmp_path / "s.json"
    out.write_text(json.dumps(_edited(SWEEP, path, 0.5)))
    with pytest.raises(ReportError, match=f"s.json: {message}"):
        read_sweep(out)


def test_write_record_refuses_a_record_its_reader_would_refuse_and_leaves_the_file_alone(tmp_path):
    report = read_report(RESULTS / "tutorial_lenet.json")
    out = tmp_path / "r.json"
    write_record(report, out)
    before = out.read_text()
    first = report.runs[0]
    wrong = [dataclasses.replace(report, runs=[first.replace(metrics={**first.metrics, "accuracy": 1.5}),
                                               *report.runs[1:]]),
             dataclasses.replace(report, runs=[first.replace(seed=9), *report.runs[1:]]),
             dataclasses.replace(report, runs=[*report.runs, first])]
    for record, message in zip(wrong, (r"runs\[0\]\.metrics\.accuracy must be <= 1", r"runs\[0\]\.seed is 9",
                                       r"runs\[\d+\] repeats the run of single seed 0"), strict=True):
        with pytest.raises(ReportError, match=f"the record to be written to {re.escape(str(out))}: {message}"):
            write_record(record, out)
        assert out.read_text() == before  # the file it would have replaced is as it was
    sweep = read_sweep(RESULTS / "sweep_alpha_lenet.json")
    doubled = dataclasses.replace(sweep, rows=(*sweep.rows, sweep.rows[0]))
    with pytest.raises(ReportError, match=r"rows\[\d+\] repeats the row of"):
        write_record(doubled, tmp_path / "s.json")
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize(("path", "value", "message"), [
    ("runs.0.metrics.accuracy", KeyError, r"runs\[0\]\.metrics\.accuracy is missing"),
    ("runs.1.metrics.nll", "0.3", r"runs\[1\]\.metrics\.nll must be a number, got str"),
    ("runs.0.metrics.ece", float("nan"), r"runs\[0\]\.metrics\.ece must be a finite number"),
    ("runs.0.metrics.accuracy", 1.5, r"runs\[0\]\.metrics\.accuracy must be <= 1"),
    ("runs.0.seed", 0.5, r"runs\[0\]\.seed must be an integer"),
    ("runs.0.seed", 9, r"runs\[0\]\.seed is 9, which provenance\.seeds"),
    ("runs.0.spec", KeyError, r"runs\[0\]\.spec is missing"),
    ("runs.0.spec.num_estimators", 0, r"runs\[0\]\.spec\.num_estimators must be an integer >= 1"),
    ("runs.0.spec.name", None, r"runs\[0\]\.spec\.name must be text"),
    ("runs.0.params", True, r"runs\[0\]\.params must be an integer, got True"),
    ("runs.0.history.train_loss", "x", r"runs\[0\]\.history\.train_loss must be a list of numbers"),
    ("runs.0.metrics.ood.msp.auroc", KeyError, r"runs\[0\]\.metrics\.ood\.msp\.auroc is missing"),
    ("runs.0", [], r"runs\[0\] must be an object"),
    ("runs", {}, r"runs must be a list"),
    ("provenance.seeds", [], r"provenance\.seeds is empty"),
    ("provenance.seeds", [0, 0], r"provenance\.seeds lists a seed more than once"),
    ("provenance.seeds.0", -1, r"provenance\.seeds\[0\] must be a seed"),
    ("provenance.data.synthetic", "no", r"provenance\.data\.synthetic must be true or false"),
    ("provenance.data", KeyError, r"provenance\.data is missing"),
    ("provenance.hardware", KeyError, r"provenance\.hardware is missing"),
    ("summary", KeyError, r"summary is missing"),
    ("summary.single", KeyError, r"summary\.single is missing"),
    ("summary.single.accuracy.n", 0, r"summary\.single\.accuracy\.n must be an integer >= 1"),
    ("summary.single.params", KeyError, r"summary\.single\.params is missing"),
])
def test_a_hand_edited_report_is_refused_naming_the_file_and_the_field(tmp_path, path, value, message):
    out = tmp_path / "x.json"
    out.write_text(json.dumps(_edited(REPORT, path, value)))
    with pytest.raises(ReportError, match=f"x.json: {message}"):
        report_files.read_report(out)


def test_a_duplicate_run_and_a_summary_without_runs_are_refused():
    doubled = copy.deepcopy(REPORT)
    doubled["runs"].append(copy.deepcopy(doubled["runs"][0]))
    with pytest.raises(ReportError, match=r"runs\[\d\] repeats the run of single seed 0"):
        check_report(doubled, "r.json")
    ghost = copy.deepcopy(REPORT)
    ghost["summary"]["mimo"] = ghost["summary"]["single"]
    with pytest.raises(ReportError, match=r"summary\.mimo summarises a method that has no run"):
        check_report(ghost, "r.json")


def test_not_a_report_at_all(tmp_path):
    for text in ("[]", "3", '{"runs": []}', "NaN", '{"provenance": {}, "runs": []}'):
        out = tmp_path / "x.json"
        out.write_text(text)
        with pytest.raises(ReportError, match="x.json"):
            report_files.read_report(out)


def test_load_results_goes_through_the_reader(tmp_path):
    for stored in RESULTS.glob("tutorial_lenet*"):
        shutil.copy(stored, tmp_path / stored.name)
    load_results(tmp_path / "tutorial_lenet.json")
    (tmp_path / "tutorial_lenet.json").write_text(json.dumps(_edited(REPORT, "provenance.seeds", [])))
    with pytest.raises(ReportError, match=r"tutorial_lenet.json: provenance\.seeds is empty"):
        load_results(tmp_path / "tutorial_lenet.json")


@pytest.mark.parametrize(("path", "value", "message"), [
    ("rows", [], r"rows is empty"),
    ("rows.0.summary.accuracy", KeyError, r"rows\[0\]\.summary\.accuracy is missing"),
    ("rows.1.runs.0.metrics.accuracy", KeyError, r"rows\[1\]\.runs\[0\]\.metrics\.accuracy is missing"),
    ("rows.0.seeds", [0, 1], r"rows\[0\]\.seeds are \[0, 1\] but the runs are of seeds"),
    ("rows.0.label", 3, r"rows\[0\]\.label must be text"),
    ("rows.0.runs", [], r"rows\[0\]\.runs is empty"),
    ("rows.2.width", float("inf"), r"rows\[2\]\.width must be a finite number"),
    ("recipe.epochs", KeyError, r"recipe\.epochs is missing"),
    ("provenance.data.num_train", KeyError, r"provenance\.data\.num_train is missing"),
    ("cpu_seconds", "1h", r"cpu_seconds must be a number"),
])
def test_a_hand_edited_sweep_is_refused_naming_the_file_and_the_field(tmp_path, monkeypatch, path, value, message):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "sweep_alpha_lenet.json").write_text(json.dumps(_edited(SWEEP, path, value)))
    monkeypatch.setattr(sweeps, "assets_dir", lambda: tmp_path)
    with pytest.raises(ReportError, match=f"sweep_alpha_lenet.json: {message}"):
        sweeps.load_sweep("alpha")


def test_a_repeated_sweep_row_is_refused():
    sweep = copy.deepcopy(SWEEP)
    sweep["rows"].append(copy.deepcopy(sweep["rows"][0]))
    with pytest.raises(ReportError, match=r"s.json: rows\[\d+\] repeats the row of single"):
        check_sweep(sweep, "s.json")


def test_a_damaged_sweep_file_is_named(tmp_path, monkeypatch):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "sweep_alpha_lenet.json").write_text('{"rows": [')
    monkeypatch.setattr(sweeps, "assets_dir", lambda: tmp_path)
    with pytest.raises(ReportError, match=r"sweep .*sweep_alpha_lenet.json cannot be read as JSON"):
        sweeps.load_sweep("alpha")


def test_stored_predictions_of_the_wrong_shape_are_named(tmp_path):
    import torch

    from pe_lab.results.predictions import load_predictions

    good = {"test": torch.full((4, 2, 3), 1 / 3).half(), "test_labels": torch.zeros(4, dtype=torch.long),
            "ood": None, "classes": ["a", "b", "c"]}
    for change, message in [({"test": torch.ones(4, 3)}, r"test must be member probabilities \(N, M, K\)"),
                            ({"test_labels": torch.zeros(5, dtype=torch.long)}, "test_labels must be 4 labels"),
                            ({"ood": torch.ones(2, 1, 3)}, r"ood must be member probabilities \(N, 2, 3\)"),
                            ({"classes": ["a"]}, "classes names 1 classes but test has 3")]:
        torch.save({**good, **change}, tmp_path / "p.pt")
        with pytest.raises(ReportError, match=f"p.pt: {message}"):
            load_predictions(tmp_path / "p.pt")
    torch.save(good, tmp_path / "p.pt")
    assert load_predictions(tmp_path / "p.pt")["test"].dtype == torch.float32
