"""Metrics: hand formulas against torchmetrics and against tiny cases computed by hand."""

import math

import pytest
import torch
from torchmetrics.classification import BinaryAUROC, MulticlassCalibrationError

from pe_lab.evaluation.metrics import (
    accuracy,
    brier_score,
    ece,
    ece_by_hand,
    entropy,
    evaluate_predictions,
    fpr_at_tpr,
    mutual_information,
    nll,
    ood_metrics,
    ood_score,
    reliability_data,
    variation_ratio,
)


def _random_probs(n=500, k=10, seed=0):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, generator=generator) * 3
    labels = torch.randint(0, k, (n,), generator=generator)
    return logits.softmax(-1), labels


def _ece_sample_by_sample(probs: torch.Tensor, labels: torch.Tensor, num_bins: int) -> float:
    """ECE written out one sample at a time in plain Python floats: each sample goes to the equal-width bin of its
    confidence, and each bin's |accuracy - mean confidence| is weighted by its share of the samples."""
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(num_bins)]
    for row, label in zip(probs.double().tolist(), labels.tolist(), strict=True):
        confidence = max(row)
        bins[min(int(confidence * num_bins), num_bins - 1)].append((confidence, row.index(confidence) == label))
    total = len(labels)
    return sum(len(b) / total * abs(sum(right for _, right in b) / len(b) - sum(c for c, _ in b) / len(b))
               for b in bins if b)


def _over_and_under_confident(n=600, k=10, seed=0):
    """Predictions right with probability c + 0.25 sin(2 pi c) at confidence c: under-confident below c = 0.5 and
    over-confident above, so the ECE changes with the number of bins (one bin more or fewer moves it by 1e-4 or
    more here) and differs from the unbinned |mean accuracy - mean confidence|."""
    generator = torch.Generator().manual_seed(seed)
    probs = (torch.randn(n, k, generator=generator) * torch.linspace(0.3, 4.0, n)[:, None]).softmax(-1)
    confidence, predicted = probs.max(1)
    right = torch.rand(n, generator=generator) < (confidence + 0.25 * torch.sin(2 * torch.pi * confidence)).clamp(0, 1)
    other = (predicted + torch.randint(1, k, (n,), generator=generator)) % k
    return probs, torch.where(right, predicted, other)


@pytest.mark.parametrize("num_bins", [1, 5, 10, 15, 30])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ece_matches_a_sample_by_sample_computation_and_the_hand_ece_matches_torchmetrics(num_bins, seed):
    probs, labels = _over_and_under_confident(seed=seed)
    assert ece(probs, labels, num_bins) == pytest.approx(_ece_sample_by_sample(probs, labels, num_bins), abs=1e-6)
    reference = MulticlassCalibrationError(num_classes=10, n_bins=num_bins, norm="l1")(probs, labels).item()
    assert ece_by_hand(probs, labels, num_bins) == pytest.approx(reference, abs=1e-6)


def test_ece_tiny_case_by_hand():
    # Two samples at confidence 0.9 (bin (0.8, 0.9]] with 10 bins), one right, one wrong: |0.5 - 0.9| = 0.4.
    # One at 0.6, right: |1 - 0.6| = 0.4. ECE = 2/3 * 0.4 + 1/3 * 0.4 = 0.4.
    probs = torch.tensor([[.9, .1], [.9, .1], [.4, .6]])
    labels = torch.tensor([0, 1, 1])
    assert ece_by_hand(probs, labels, 10) == pytest.approx(0.4)
    data = reliability_data(probs, labels, 10)
    assert data["count"].tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 2, 0]
    assert data["accuracy"][8].item() == pytest.approx(0.5)
    assert math.isnan(data["accuracy"][0].item())


def test_accuracy_nll_brier_by_hand():
    probs = torch.tensor([[.7, .2, .1], [.1, .1, .8]])
    labels = torch.tensor([0, 1])
    assert accuracy(probs, labels) == 0.5
    assert nll(probs, labels) == pytest.approx(-(math.log(.7) + math.log(.1)) / 2)
    brier = ((.3 ** 2 + .2 ** 2 + .1 ** 2) + (.1 ** 2 + .9 ** 2 + .8 ** 2)) / 2
    assert brier_score(probs, labels) == pytest.approx(brier)


def test_brier_matches_mse_of_one_hot():
    probs, labels = _random_probs()
    one_hot = torch.nn.functional.one_hot(labels, 10).float()
    assert brier_score(probs, labels) == pytest.approx(torch.nn.functional.mse_loss(probs, one_hot).item() * 10, rel=1e-5)


def test_entropy_mutual_information_variation_ratio():
    uniform = torch.full((4,), .25)
    assert entropy(uniform).item() == pytest.approx(math.log(4))
    agree = torch.tensor([[[.6, .4], [.6, .4]]])
    assert mutual_information(agree).item() == pytest.approx(0, abs=1e-7)
    assert variation_ratio(agree).item() == 0
    disagree = torch.tensor([[[.9, .1], [.1, .9]]])
    expected = entropy(torch.tensor([.5, .5])) - entropy(torch.tensor([.9, .1]))
    assert mutual_information(disagree).item() == pytest.approx(expected.item())
    assert variation_ratio(disagree).item() == 0.5


def test_ood_metrics_match_torchmetrics_and_hand_fpr95():
    generator = torch.Generator().manual_seed(0)
    in_scores = torch.randn(1000, generator=generator)
    out_scores = torch.randn(800, generator=generator) + 1.5
    result = ood_metrics(in_scores, out_scores)
    targets = torch.cat([torch.zeros(1000), torch.ones(800)]).long()
    assert result["auroc"] == pytest.approx(BinaryAUROC()(torch.cat([in_scores, out_scores]), targets).item(), abs=1e-6)
    # FPR95 by hand: the threshold that keeps 95 % of OOD scores above it.
    threshold = out_scores.sort().values[int(math.floor(0.05 * 800))]
    by_hand = (in_scores >= threshold).float().mean().item()
    assert result["fpr95"] == pytest.approx(by_hand, abs=2e-3)
    assert 0.5 < result["auroc"] < 1 and 0 < result["fpr95"] < 1


def test_ood_perfect_and_reversed():
    good = ood_metrics(torch.tensor([0., .1]), torch.tensor([.5, .6]))
    assert good == {"auroc": 1.0, "aupr": 1.0, "fpr95": 0.0}
    bad = ood_metrics(torch.tensor([.5, .6]), torch.tensor([0., .1]))
    assert bad["auroc"] == 0.0 and bad["fpr95"] == 1.0
    assert fpr_at_tpr(torch.tensor([0., 1.]), torch.tensor([2., 3.]), 0.5) == 0.0


def test_ood_score_criteria_and_errors():
    member_probs = torch.tensor([[[.9, .1], [.1, .9]], [[.9, .1], [.9, .1]]])
    assert ood_score(member_probs, "msp").tolist() == pytest.approx([.5, .1])
    assert ood_score(member_probs, "variation_ratio").tolist() == [.5, 0]
    with pytest.raises(ValueError, match="unknown OOD criterion 'energy'; valid choices: msp, entropy"):
        ood_score(member_probs, "energy")
    with pytest.raises(ValueError, match=r"member_probs must be \(N, M, K\)"):
        ood_score(member_probs[:, 0], "msp")


def test_evaluate_predictions_skips_constant_criteria_for_a_single():
    probs, labels = _random_probs(200)
    single = probs[:, None]
    ood = _random_probs(100, seed=5)[0][:, None]
    report = evaluate_predictions(single, labels, ood)
    assert set(report["ood"]) == {"msp", "entropy"}   # MI and disagreement of one member are constant
    assert report["accuracy"] == accuracy(probs, labels)


@pytest.mark.parametrize("call,message", [
    (lambda: accuracy(torch.rand(3, 2).softmax(1), torch.tensor([0, 1])), r"labels must be \(3,\)"),
    (lambda: nll(torch.rand(2, 2).softmax(1), torch.tensor([0, 2])), r"labels must lie in \[0, 2\)"),
    (lambda: ece(torch.rand(2), torch.tensor([0, 1])), r"probs must be \(N, K\)"),
    (lambda: brier_score(torch.rand(0, 3), torch.zeros(0, dtype=torch.long)), "probs is empty"),
    (lambda: reliability_data(torch.rand(2, 2).softmax(1), torch.tensor([0, 1]), 0), "num_bins must be an integer >= 1"),
    (lambda: ood_metrics(torch.tensor([]), torch.tensor([1.])), "at least one in-distribution"),
])
def test_bad_input_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_temperature_from_probabilities_equals_temperature_on_logits():
    from pe_lab.evaluation.metrics import with_temperature

    logits = torch.randn(50, 3, 10, generator=torch.Generator().manual_seed(0)) * 3
    for temperature in (0.5, 1.0, 2.5):
        assert torch.allclose(with_temperature(logits.softmax(-1), temperature), (logits / temperature).softmax(-1),
                              atol=1e-5)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        with_temperature(logits.softmax(-1), 0)


def test_diversity_numbers():
    from pe_lab.evaluation.metrics import diversity

    labels = torch.tensor([0, 1, 2, 0])
    one_hot = torch.nn.functional.one_hot
    # member 0 right everywhere, member 1 wrong on the last two images
    votes = torch.tensor([[0, 0], [1, 1], [2, 0], [0, 1]])
    probs = one_hot(votes, 3).float() * 0.8 + 0.2 / 3
    probs = probs / probs.sum(-1, keepdim=True)
    d = diversity(probs, labels)
    assert d["member_accuracy"] == [1.0, 0.5]
    assert d["disagreement"] == 0.5 and d["mean_member_accuracy"] == 0.75
    assert d["ensemble_gain"] == pytest.approx(d["ensemble_accuracy"] - 0.75)
    single = diversity(probs[:, :1], labels)
    assert single["disagreement"] == 0.0 and single["ensemble_gain"] == 0.0
    with pytest.raises(ValueError, match="logits passed"):
        diversity(torch.randn(4, 2, 3) * 5, labels)


@pytest.mark.parametrize("shift,scale", [(0.0, 1.0), (40.0, 1.0), (-800.0, 1.0), (0.0, 1e3), (1e6, 1e4)])
def test_ood_metrics_rank_real_valued_scores_as_given_like_scikit_learn(shift, scale):
    """Energies, logits, distances: torchmetrics would squash scores outside [0, 1] through a sigmoid."""
    from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

    from pe_lab.evaluation.metrics import ood_metrics

    torch.manual_seed(0)
    in_scores = (torch.randn(300) * scale + shift).round()   # rounding makes ties, which must count as ties
    out_scores = (torch.randn(200) * scale + shift + 0.8 * scale).round()
    got = ood_metrics(in_scores, out_scores)
    y = [0] * 300 + [1] * 200
    s = torch.cat([in_scores, out_scores]).double().numpy()
    assert got["auroc"] == pytest.approx(roc_auc_score(y, s), abs=1e-6)
    assert got["aupr"] == pytest.approx(average_precision_score(y, s), abs=1e-6)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    assert got["fpr95"] == pytest.approx(fpr[(tpr >= 0.95).argmax()], abs=1e-6)


def test_ood_metrics_on_the_issues_example():
    from pe_lab.evaluation.metrics import ood_metrics

    got = ood_metrics(torch.tensor([40.0, 50.0, 60.0, 80.0]), torch.tensor([45.0, 70.0, 90.0, 100.0]))
    assert got["auroc"] == pytest.approx(0.75)
    assert ood_metrics(torch.tensor([38.0, 39.0]), torch.tensor([40.0, 41.0]))["auroc"] == 1.0
    assert ood_metrics(torch.tensor([-900.0, -800.0]), torch.tensor([-700.0, -750.0]))["auroc"] == 1.0


@pytest.mark.parametrize("fn", ["entropy", "mutual_information", "variation_ratio"])
def test_uncertainty_measures_refuse_logits(fn):
    import pe_lab.evaluation.metrics as metrics

    logits = torch.tensor([[[2.0, -1.0, 0.5], [0.1, 0.3, -2.0]]])
    with pytest.raises(ValueError, match="probabilities"):
        getattr(metrics, fn)(logits if fn != "entropy" else logits[0])
    probs = logits.softmax(-1)
    assert (getattr(metrics, fn)(probs if fn != "entropy" else probs[0]) >= 0).all()


@pytest.mark.parametrize("temperature", [0, -1, float("nan"), float("inf")])
def test_predict_proba_refuses_a_temperature_that_is_not_positive(temperature):
    from pe_lab.evaluation.prediction import predict_proba
    from pe_lab.methods.registry import build

    with pytest.raises(ValueError, match="temperature"):
        predict_proba(build("lenet", "packed").eval(), torch.zeros(2, 3, 32, 32), temperature=temperature)
