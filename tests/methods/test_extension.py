"""Extension in one place: a method added as one new module of ``pe_lab/methods`` (found by discovery), a metric
added as one entry of ``METRICS`` and an OOD criterion as one entry of ``OOD_CRITERIA`` each reach building,
training, evaluation, the report's table and prose, and the figures, with no other file edited. Every registration
made here is undone when its test ends, so no other test sees it."""

from __future__ import annotations

import contextlib
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import pe_lab.methods
from pe_lab.data.images import synthetic_dataset
from pe_lab.evaluation.metrics import (
    METRICS,
    OOD_CRITERIA,
    Metric,
    OodCriterion,
    criteria_for,
    evaluate_predictions,
    ood_score,
)
from pe_lab.evaluation.prediction import predict_member_probs
from pe_lab.experiments.spec import ModelSettings
from pe_lab.methods.registry import (
    HYPERPARAMETERS,
    METHODS,
    build,
    build_from_spec,
    discover_methods,
    get_method,
    label_for,
    method_options,
    options_of,
    training_units,
)
from pe_lab.results import cost
from pe_lab.results.prose import describe
from pe_lab.results.records import DataRecord, Provenance, Report, Run
from pe_lab.results.tables import format_table, summarise
from pe_lab.teaching import viz
from pe_lab.training.loop import fit

# A new method, written as a newcomer would write it in pe_lab/methods/twin.py: two independently trained copies
# of the base network, the second one's initial weights scaled by its own hyperparameter ``spread``.
TWIN_MODULE = '''
"""Twin: two independently trained copies of the base network."""

import torch

from ..nn.models import DeepEnsemble, ModelSpec, plain_network
from .registry import Contender, Method, Option, Sharing, register


def make_twin(architecture, num_classes, *, spread, width=1.0, **_):
    members = [plain_network(architecture, num_classes, member_width=width) for _ in range(2)]
    with torch.no_grad():
        for parameter in members[1].parameters():
            parameter.mul_(spread)
    twin = DeepEnsemble(members)
    twin.spec = ModelSpec(architecture, "twin", num_classes, num_estimators=2, width=width,
                          options=(("spread", spread),))
    return twin


def twin_sharing(channels, *, spread):
    owner = torch.full((2 * channels, 2 * channels), -1.0)
    owner[:channels, :channels], owner[channels:, channels:] = 0, 1
    return Sharing("Twin: two separate layers", owner)


register(Method(
    "twin", "Twin", "two independently trained copies", make_twin, hyperparameters=("spread",),
    options=(Option("spread", float, 1.0, "Twin: scale of the second copy's initial weights", minimum=0.1,
                    maximum=10),),
    units=lambda model: list(model.members), contenders=(Contender("twin", "Twin", "units"),),
    colour="#117733", sharing=twin_sharing))
'''


@contextlib.contextmanager
def method_module(name: str, source: str, folder: Path, monkeypatch: pytest.MonkeyPatch):
    """``source`` as the module ``pe_lab.methods.<name>``, as if its file were put in ``pe_lab/methods/``
    (``folder`` joins the package's path); its method is found by ``discover_methods`` alone. On exit the method
    is unregistered and the module forgotten."""
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.setattr(pe_lab.methods, "__path__", [*pe_lab.methods.__path__, str(folder)])
    before = set(METHODS)
    try:
        found = discover_methods()
        yield found, [m for m in METHODS if m not in before]
    finally:
        for added in [m for m in METHODS if m not in before]:
            pe_lab.methods.unregister(added)
        sys.modules.pop(f"pe_lab.methods.{name}", None)
        monkeypatch.undo()


@pytest.fixture
def twin(tmp_path, monkeypatch):
    with method_module("twin", TWIN_MODULE, tmp_path, monkeypatch) as (found, added):
        assert "pe_lab.methods.twin" in found and added == ["twin"]
        yield get_method("twin")


def _report(runs: list[Run], ood_criterion: str = "msp") -> Report:
    data = DataRecord(num_train=80, num_test=30, test="synthetic", ood="synthetic", num_ood=30, synthetic=True)
    provenance = Provenance(command="test", hardware="cpu", torch=torch.__version__, git_commit="0" * 12,
                            date="today", data=data, seeds=(0, 1))
    return Report(provenance, runs=runs, summary=summarise(runs, ood_criterion))


def _run(model: torch.nn.Module, method: str, seed: int, metrics: dict) -> Run:
    return Run(method=method, seed=seed, metrics=metrics, spec=model.spec.to_dict(), params=1, train_seconds=1.0,
               history={}, test_images_per_second=1.0)


def _trained_runs(method: str, **options) -> tuple[list[Run], torch.Tensor]:
    """``method`` of LeNet trained one step on synthetic data (seeds 0 and 1) and evaluated with OOD images: its
    runs, and seed 0's test member probabilities."""
    train, test = synthetic_dataset(8, 10), synthetic_dataset(3, 10, split="test")
    ood = synthetic_dataset(3, 10, split="test", seed=7)
    runs, first = [], None
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = build("lenet", method, **options)
        history = fit(model, train, epochs=1, batch_size=80, schedule="cosine", seed=seed, progress=False)
        assert len(history.train_loss) == 1
        member_probs = predict_member_probs(model, test)
        metrics = evaluate_predictions(member_probs, test.labels, predict_member_probs(model, ood))
        runs.append(_run(model, method, seed, metrics))
        first = member_probs if first is None else first
    return runs, first


def test_a_method_added_as_one_module_is_found_and_described_by_its_record(twin):
    assert list(METHODS)[-1] == "twin"  # after the lab's own methods, by its record's order
    assert [o.name for o in options_of("twin")] == ["spread"]
    assert "spread" in [o.name for o in method_options()] and HYPERPARAMETERS["spread"] == 1.0
    assert [o.flag for o in method_options()][-1] == "--spread"
    model = build("lenet", "twin", spread=1.5)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 2, 10)
    assert label_for(model.spec.to_dict()) == "Twin(1.5)" and label_for(build("lenet", "twin").spec.to_dict()) == \
        "Twin(1)"
    assert training_units(model) == list(model.members)
    assert build_from_spec(model.spec.to_dict()).spec == model.spec
    with pytest.raises(ValueError, match="spread must be <= 10"):
        build("lenet", "twin", spread=11)
    with pytest.raises(ValueError, match="unknown hyperparameter 'spred'"):
        build("lenet", "twin", spred=1)


def test_a_method_added_as_one_module_trains_evaluates_and_reaches_tables_and_figures(twin):
    runs, _ = _trained_runs("twin", spread=1.5)
    assert set(runs[0].metrics["ood"]) == set(OOD_CRITERIA)  # two members: every criterion is scored
    report = _report(runs)
    assert "| Twin(1.5) |" in format_table(report)
    assert "Twin(1.5)" in describe(_report(runs + _trained_runs("single")[0]))
    fig = viz.results_figure(report)
    bar = fig.axes[0].patches[0]
    assert fig.axes[0].get_xticklabels()[0].get_text() == "Twin"
    assert tuple(bar.get_facecolor()[:3]) == pytest.approx((0x11 / 255, 0x77 / 255, 0x33 / 255))
    assert any(ax.get_title() == "Twin: two separate layers" for ax in viz.sharing_figure(4, 4).axes)
    (measured,) = cost.measure("lenet", contenders=("twin",), batch_size=2, repeats=1, warmup=0)
    assert measured.error is None and measured.params == sum(p.numel() for p in build("lenet", "twin").parameters())
    run_through_the_experiment_api_and_cli("twin", {"spread": 1.5})


def run_through_the_experiment_api_and_cli(method: str, options: dict) -> None:
    """A method added in a test, run through the experiment's Python API and its command line: both train it with
    its own options, write it into a report with the Single, and the command line offers its options as flags."""
    import tempfile

    from pe_lab.cli.experiment import main, parser
    from pe_lab.experiments.presets import preset
    from pe_lab.experiments.run import run_experiment

    settings = ModelSettings(model="lenet", methods=("single", method), options=options)
    assert settings.build(method).spec.options == tuple(options.items())
    with tempfile.TemporaryDirectory() as folder:
        tiny = dict(model="lenet", methods=("single", method), options=options, synthetic=True, train_per_class=4,
                    test_per_class=2, epochs=1, batch_size=8, schedule="cosine", seeds=(0,), eta=False,
                    progress=False, out=f"{folder}/api.json", runs_dir=f"{folder}/runs")
        report = run_experiment(preset("quick", **tiny))
        assert [r.method for r in report.runs] == ["single", method]
        flags = [f"--{name.replace('_', '-')}" for name in options]
        assert all(flag in parser().format_help() for flag in flags)
        argv = ["--model", "lenet", "--methods", f"single,{method}", "--synthetic", "--train-per-class", "4",
                "--test-per-class", "2", "--epochs", "1", "--batch-size", "8", "--schedule", "cosine", "--seeds", "0",
                "--no-eta", "--no-progress", "--out", f"{folder}/cli.json", "--runs-dir", f"{folder}/runs",
                *(word for name, value in options.items() for word in (f"--{name.replace('_', '-')}", str(value)))]
        assert main(argv).identity["model"] == report.identity["model"]


def test_a_module_added_in_a_test_is_gone_after_it(tmp_path, monkeypatch):
    path = list(pe_lab.methods.__path__)
    with method_module("twin", TWIN_MODULE, tmp_path, monkeypatch):
        assert "twin" in METHODS and "spread" in HYPERPARAMETERS
    assert "twin" not in METHODS and "spread" not in HYPERPARAMETERS
    assert "pe_lab.methods.twin" not in sys.modules and list(pe_lab.methods.__path__) == path


def _top2_accuracy(probs: torch.Tensor, labels: torch.Tensor, num_bins: int) -> float:
    return (probs.topk(2, dim=1).indices == labels[:, None]).any(1).double().mean().item()


def test_a_metric_added_as_one_table_entry_is_evaluated_tabled_told_and_drawn(monkeypatch):
    monkeypatch.setitem(METRICS, "top2", Metric(_top2_accuracy, "Top-2", "top-2 accuracy", True, 100, 1))
    runs = _trained_runs("single")[0] + _trained_runs("packed")[0]
    assert all(0 <= r.metrics["top2"] <= 1 and r.metrics["top2"] >= r.metrics["accuracy"] for r in runs)
    report = _report(runs)
    table = format_table(report)
    assert " Top-2 |" in table.splitlines()[0]
    value = report.summary["packed"]["top2"].mean
    assert f"{100 * value:.1f} ±" in table
    assert "**top-2 accuracy**, best first by the mean (higher is better)" in describe(report)
    fig = viz.results_figure(report, keys=("accuracy", "top2"))
    assert fig.axes[1].get_title() == "top-2 accuracy (%) ↑"


def _margin(member_probs: torch.Tensor) -> torch.Tensor:
    top = member_probs.mean(1).topk(2, dim=1).values
    return 1 - (top[:, 0] - top[:, 1])


def test_an_ood_criterion_added_as_one_table_entry_is_scored_and_tabled(monkeypatch):
    monkeypatch.setitem(OOD_CRITERIA, "margin", OodCriterion(_margin, "1 - the gap between the two top classes"))
    assert "margin" in criteria_for(1)
    probs = torch.tensor([[[0.6, 0.3, 0.1]], [[0.4, 0.35, 0.25]]])
    assert ood_score(probs, "margin").tolist() == pytest.approx([0.7, 0.95])
    runs, member_probs = _trained_runs("single")
    assert set(runs[0].metrics["ood"]) == {"msp", "entropy", "margin"}  # a Single: no member criteria
    table = format_table(_report(runs, ood_criterion="margin"))
    assert "AUROC (margin)" in table and "FPR95 (margin)" in table
    assert ood_score(member_probs, "margin").shape == (member_probs.shape[0],)
    with pytest.raises(ValueError, match="unknown OOD criterion 'margn'"):
        ood_score(probs, "margn")
