"""A collapsed model's OOD criteria that cannot rank are recorded with the reason, not silently dropped."""

import torch

from pe_lab.data.images import synthetic_dataset
from pe_lab.methods.registry import build
from pe_lab.results.train_and_measure import evaluate_run, unscored_ood_criteria
from pe_lab.training.checkpoint import History


def _collapsed(kind="single"):
    model = build("lenet", kind, num_classes=10, **({"num_estimators": 2} if kind != "single" else {}))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()  # every output the same: uniform probabilities for every image
    return model.eval()


def test_a_collapsed_runs_ood_metrics_are_noted_not_dropped():
    test, ood = synthetic_dataset(2, 10, split="test"), synthetic_dataset(2, 10, seed=1)
    run, _, _ = evaluate_run("single", 0, _collapsed(), History(), test, ood, torch.device("cpu"))
    assert run.metrics["ood"] == {}
    assert set(run.metrics["ood_unscored"]) == {"msp", "entropy"}
    assert "collapsed model" in run.metrics["ood_unscored"]["msp"]


def test_an_ensemble_whose_members_agree_is_said_so():
    test, ood = synthetic_dataset(2, 10, split="test"), synthetic_dataset(2, 10, seed=1)
    run, _, _ = evaluate_run("deep", 0, _collapsed("deep"), History(), test, ood, torch.device("cpu"))
    notes = run.metrics["ood_unscored"]
    assert "collapsed model" in notes["msp"] and "members agree" in notes["mutual_information"]


def test_a_working_single_has_nothing_to_note():
    metrics = {"ood": {"msp": {}, "entropy": {}}}
    assert unscored_ood_criteria(metrics, members=1) == {}
    assert set(unscored_ood_criteria(metrics, members=4)) == {"mutual_information", "variation_ratio"}
