"""Solutions of notebooks/07_reproducing_the_tutorial.ipynb, one ``exercise_N`` per exercise (format: ``reading``)."""

import torch.nn.functional as F

from pe_lab import check_tutorial_loss

from .runs import ends_with_commands

# bound by the notebook's cells: the class names (section 2), the tutorial preset's report and predictions (section 5)
classes = tutorial = tutorial_predictions = ...


def exercise_1():
    """Rows are member-major, so row $mB + i$ is member $m$'s prediction for image $i$: the labels repeat *as a
    block* $M$ times, `labels.repeat(M)`, and the tutorial's loss is their mean."""
    def my_loss(logits, labels):
        return F.cross_entropy(logits, labels.repeat(len(logits) // len(labels)))
    verdict = check_tutorial_loss(my_loss)
    assert verdict, verdict


@ends_with_commands("tutorial_member_loss_sum", "tutorial_lr_0.004")
def exercise_2():
    """The two fixes are the same step: for SGD with momentum and no weight decay (the preset's recipe, printed in
    section 5), summing the member losses multiplies every gradient, hence the momentum buffer and the update, by
    $M$, exactly as multiplying the learning rate by $M$ does; the two committed runs give the same numbers
    (printed; asserted within half a point). How much of the gap that one change closes is a one-seed measurement,
    not a verdict: `compare` makes no test with one seed (printed), so a claim needs the fixed run over the seeds
    the preset ran. On seed 0 the fixed PE's accuracy lies more than 2 points above the preset PE's and less than 2
    points below the Single's (printed, asserted). What is left is not shown to be the other handicap: no run here
    trains this recipe longer, and section 6's 20 epochs (with the summed loss, but also another batch, learning
    rate and augmentation) still leave the PE below the Single, so the member's half width remains a candidate
    beside the 2 epochs (notebook 08 varies the width). Commands:"""
    from pe_lab import compare, exercise_run
    base = {r.method: r.metrics["accuracy"] for r in tutorial.runs if r.seed == 0}
    fixed = {}
    for name in ("tutorial_member_loss_sum", "tutorial_lr_0.004"):
        report_ = exercise_run(name)
        if report_ is not None:
            run = report_.runs[0]
            fixed[name] = run.metrics["accuracy"]
            print(f"{name}: PE {100 * fixed[name]:.1f} % ({run.train_seconds:.0f} s CPU) vs tutorial PE "
                  f"{100 * base['packed']:.1f} %, Single {100 * base['single']:.1f} % (seed 0)")
    if len(fixed) == 2:
        assert abs(fixed["tutorial_member_loss_sum"] - fixed["tutorial_lr_0.004"]) < 0.005   # the same step
        lr_fixed = fixed["tutorial_lr_0.004"]
        for other, name in (("packed", "the preset's PE"), ("single", "the Single")):
            print("lr 0.004 against " + name + ": " + compare([lr_fixed], [base[other]]).sentence(
                "the fixed PE", name, scale=100, digits=1, unit=" points"))
        assert lr_fixed - base["packed"] > 0.02 and base["single"] - lr_fixed < 0.02


def exercise_3():
    """Not the same class, and the opposite of the usual guess: the cell computes, per class, the ensemble's gain
    over its mean member and the share of images its members disagree on, and their rank correlation is *negative*
    for the preset's PE (seed 0). The three classes the members disagree on most (printed) are the hard ones, the three
    with the lowest member accuracy (asserted), where most members are wrong, each in its own way, so averaging has
    no right majority to find; the largest gains are on classes the members often get right, but not all together.
    Disagreement is necessary for a gain, not sufficient."""
    import torch
    gain, split, member_accuracy = {}, {}, {}
    p = tutorial_predictions["packed"]
    votes = p["test"].argmax(-1)
    for c, name in enumerate(classes):
        rows_c = p["test_labels"] == c
        member_accuracy[name] = float((votes[rows_c] == c).float().mean())
        gain[name] = float((p["test"][rows_c].mean(1).argmax(1) == c).float().mean()) - member_accuracy[name]
        split[name] = float((votes[rows_c] != votes[rows_c].mode(1).values[:, None]).any(1).float().mean())
    top = max(gain, key=gain.get)
    order = sorted(gain, key=gain.get)
    by_split = sorted(split, key=split.get)
    ranks = torch.tensor([[order.index(n) for n in classes], [by_split.index(n) for n in classes]], dtype=torch.float)
    rank_corr = torch.corrcoef(ranks)[0, 1]
    most_split, hardest = by_split[-3:], sorted(member_accuracy, key=member_accuracy.get)[:3]
    print(f"largest gain: {top} ({100 * gain[top]:+.1f} points), disagreement there {100 * split[top]:.0f} %; "
          f"most disagreement: {', '.join(reversed(most_split))}; lowest member accuracy: {', '.join(hardest)}; "
          f"rank correlation gain/disagreement {rank_corr:.2f}")
    assert rank_corr < 0 and set(most_split) == set(hardest)


@ends_with_commands("lenet_5_epochs", "lenet_5_epochs_no_augment")
def exercise_4():
    """Measured, the prediction most people make (thin members need augmentation more) is not what these runs show.
    At 5 epochs crop-and-flip *lowers* the accuracy of both the Single and the PE on seed 0 (printed, asserted); a
    likely reading, not measured here: it is a regulariser, and 5 epochs are too few to overfit. One seed each cannot
    say which loses more. Over 20 epochs
    the committed runs with and without it (`lenet_converged`, `lenet_noaug`, 3 seeds each) answer with a test
    (`compare`, Welch: different runs, printed): crop-and-flip raises the Single's accuracy and still lowers the
    PE's (asserted), so at this recipe the PE's half-width members gain *less* from it than the Single, not more.
    The committed 5-epoch runs (Single and PE, seed 0, with and without augmentation):"""
    from pe_lab import compare, exercise_run, load_committed
    with_aug, without = exercise_run("lenet_5_epochs"), exercise_run("lenet_5_epochs_no_augment")
    change = {}
    for method in ("single", "packed") if with_aug and without else ():
        a, b = with_aug.runs_of(method)[0], without.runs_of(method)[0]
        acc_a, acc_b = a.metrics["accuracy"], b.metrics["accuracy"]
        change[method] = acc_a - acc_b
        print(f"{method:7s} 5 epochs, with crop+flip {100 * acc_a:.1f} %, without {100 * acc_b:.1f} % "
              f"({100 * (acc_a - acc_b):+.1f} points; {a.train_seconds:.0f} s CPU)")
    assert all(delta < 0 for delta in change.values())
    augmented, plain = load_committed("lenet_converged", methods=())[0], load_committed("lenet_noaug", methods=())[0]
    twenty = {}
    for method in ("single", "packed"):
        twenty[method] = compare([r.metrics["accuracy"] for r in augmented.runs_of(method)],
                                 [r.metrics["accuracy"] for r in plain.runs_of(method)])
        print(f"{method:7s} 20 epochs: " + twenty[method].sentence("with crop+flip", "without", scale=100, digits=1,
                                                                    unit=" points"))
    assert twenty["single"].separated and twenty["single"].difference > 0
    assert twenty["packed"].separated and twenty["packed"].difference < 0
