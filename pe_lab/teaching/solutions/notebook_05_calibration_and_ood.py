"""Solutions of notebooks/05_calibration_and_ood.ipynb, one ``exercise_N`` per exercise (format: ``reading``)."""

from pe_lab import OOD_CRITERIA, calibration_direction, check_ece, ece, ood_metrics, ood_score

# bound by the notebook's cells: section 1's predictions, where they come from, and each method's display name
predictions = source = NAMES = ...


def exercise_1():
    r"""Bin the confidences into `num_bins` $= n_{\mathrm{bins}}$ equal intervals
    $(\frac{b}{n_{\mathrm{bins}}}, \frac{b+1}{n_{\mathrm{bins}}}]$ (`torch.bucketize` with its default `right=False`),
    and sum over bins the share of images in the bin times |accuracy - mean confidence| there."""
    import torch
    def my_ece(probs, labels, num_bins):
        confidence, predicted = probs.max(1)
        correct = (predicted == labels).float()
        bins = torch.bucketize(confidence, torch.linspace(0, 1, num_bins + 1)[1:-1])
        total = torch.zeros(())
        for b in range(num_bins):
            in_bin = bins == b
            if in_bin.any():
                total += in_bin.float().mean() * (correct[in_bin].mean() - confidence[in_bin].mean()).abs()
        return float(total)
    verdict = check_ece(my_ece)
    assert verdict, verdict


def exercise_2():
    """ECE is an estimate from binned data. With few bins, over- and under-confident images in one bin cancel; with
    many, each bin holds few images and its |accuracy - confidence| is noisy, and the absolute value never lets that
    noise cancel, so ECE tends to grow with the number of bins (it need not on every run; on the committed run it
    does for every model). The cell prints every model's ECE at 5 and 30 bins and names the one that moves most."""
    by_bins = {NAMES[m]: [ece(p["test"].mean(1), p["test_labels"], n) for n in (5, 30)]
               for m, p in predictions.items()}
    for name, (five, thirty) in by_bins.items():
        print(f"{name:10s} ECE 5 bins {five:.4f} -> 30 bins {thirty:.4f}")
    print("moves most:", max(by_bins, key=lambda name: abs(by_bins[name][1] - by_bins[name][0])))
    assert all(thirty >= five - 1e-3 for five, thirty in by_bins.values())


def exercise_3():
    """The cell ranks the criteria by AUROC for each ensemble from the loaded predictions; for the committed
    ResNet-20s mutual information comes first for both the PE and the DE. Mutual information and disagreement exist
    only for ensembles, and which criterion wins depends on the model too: on the committed LeNets mutual
    information points the wrong way (section 4, *Below 50 %*), and a single AUROC difference between criteria, from
    one seed, is not a tested ranking."""
    for method, p in predictions.items():
        if p["test"].shape[1] == 1:
            continue
        scores = {c: ood_metrics(ood_score(p["test"], c), ood_score(p["ood"], c))["auroc"] for c in OOD_CRITERIA}
        best = max(scores, key=scores.get)
        print(f"{NAMES[method]:10s} best criterion: {best} ({100 * scores[best]:.1f}); "
              + ", ".join(f"{c} {100 * s:.1f}" for c, s in scores.items()))
        if source == "committed real run":
            assert best == "mutual_information", best


def exercise_4():
    """Choose $T$ by NLL on the validation half only, then report the test half. On the committed run the PE is
    under-confident in every filled bin (the cell counts them, as section 3 does), so the chosen $T$ is below 1 (it
    sharpens). It is only just below 1: after 3 epochs the ResNet-20 PE is only slightly too soft, and the validation
    NLL is nearly flat around $T = 1$ (the cell prints it at the chosen $T$ and at 1). On the held-out half the ECE
    falls, while the NLL, the quantity $T$ was chosen for, hardly moves and may even rise a little (both printed):
    a $T$ chosen on one half is an estimate, not the other half's optimum. Choosing $T$ on the half you report fits
    the reported number itself: an optimistic, not a measured, result."""
    from pe_lab import nll, with_temperature
    member_probs, labels_ = predictions["packed"]["test"], predictions["packed"]["test_labels"]
    val, held = (member_probs[0::2], labels_[0::2]), (member_probs[1::2], labels_[1::2])
    grid = [0.5 + 0.1 * i for i in range(26)]
    best_t = min(grid, key=lambda t: nll(with_temperature(val[0], t).mean(1), val[1]))
    before = nll(held[0].mean(1), held[1]), ece(held[0].mean(1), held[1], 15)
    scaled = with_temperature(held[0], best_t).mean(1)
    after = nll(scaled, held[1]), ece(scaled, held[1], 15)
    at_best, at_one = nll(with_temperature(val[0], best_t).mean(1), val[1]), nll(val[0].mean(1), val[1])
    print(f"T = {best_t:.1f} (chosen on the validation half: NLL there {at_best:.4f}, at T = 1 {at_one:.4f}); "
          f"test half NLL {before[0]:.4f} -> {after[0]:.4f}, ECE {before[1]:.4f} -> {after[1]:.4f}")
    direction = calibration_direction(member_probs.mean(1), labels_, 15)
    print(f"PE over-confident in {direction['over_bins']} of {direction['filled_bins']} bins, under-confident in "
          f"{direction['under_bins']}")
    assert after[0] <= before[0] + 0.01
    if source == "committed real run":
        assert direction["over_bins"] == 0 and best_t < 1 and after[1] < before[1]
