"""Solutions of notebooks/04_de_vs_pe_cifar10.ipynb, one ``exercise_N`` per exercise (format: ``reading``)."""

from pe_lab import check_ensemble_average, check_rules_differ, label_for, load_committed

from .runs import ends_with_commands

# bound by the notebook's cells: the CIFAR-10 class names (section 6)
classes = ...


def exercise_1():
    """(a) Softmax each member's logits, then average over the member dimension: `logits.softmax(-1).mean(1)`. (b)
    The rules disagree when one member is very sure of one class and another splits large logits between two others:
    e.g. member 1 `[10, 0, 0]`, member 2 `[0, 12, 11]`. The mean logits `[5, 6, 5.5]` pick class 1, but the mean of
    the probabilities is about `[0.50, 0.37, 0.13]`: class 0. Averaging logits lets member 2's large numbers outvote
    member 1's certainty; averaging predictions gives each member one vote of total weight 1."""
    def my_predict_proba(logits):
        return logits.softmax(-1).mean(1)
    your_logits = [[[10.0, 0.0, 0.0], [0.0, 12.0, 11.0]]]
    verdicts = check_ensemble_average(my_predict_proba), check_rules_differ(your_logits)
    print(*verdicts, sep="\n")
    assert all(verdicts), verdicts


def exercise_2():
    """One CPU epoch of the three methods costs about the committed run's training time divided by its epochs
    (printed below: its epochs, the seconds per epoch of seed 0, and the machine that made it; a machine with
    another number of threads moves it). Your one-epoch numbers are what your table prints; this cell does not
    train, so it cannot say where they land. The nearest committed evidence is each committed run's test accuracy
    after its first epoch (printed), which is not a one-epoch run: it sits at another point of a three-epoch
    learning-rate schedule. One seed cannot rank two methods: a confidence interval for a difference needs at least
    two seeds on each side, and `compare` gives none with one (section 5). The cell shows it on the committed runs:
    the verdict from seed 0 alone, then from all the run's seeds, paired."""
    from pe_lab import compare
    committed04, _ = load_committed("cifar10_resnet20")   # the real run, over several seeds
    epochs04 = len(committed04.runs[0].history["epoch_seconds"])   # the epochs it trained
    per_epoch = {r.method: r.train_seconds / epochs04 for r in committed04.runs if r.seed == 0}
    names04 = {r.method: label_for(r.spec) for r in committed04.runs}
    print(f"CPU seconds per epoch (committed run of {epochs04} epochs, seed 0, "
          f"{committed04.provenance.hardware}):", {names04[m]: round(s) for m, s in per_epoch.items()})
    print(f"committed test accuracy, seed 0, after epoch 1 of {epochs04} and at the end:",
          ", ".join(f"{names04[r.method]} {100 * r.history['test_accuracy'][0]:.1f} % -> "
                    f"{100 * r.metrics['accuracy']:.1f} %" for r in committed04.runs if r.seed == 0))
    by_seed = {m: [r.metrics["accuracy"] for r in sorted(committed04.runs_of(m), key=lambda r: r.seed)]
               for m in per_epoch}
    for a, b in (("packed", "single"), ("deep", "single")):
        alone = compare(by_seed[a][:1], by_seed[b][:1])
        print("seed 0 alone:", alone.sentence(names04[a], names04[b], scale=100, digits=1, unit=" points"))
        print(f"{len(by_seed[a])} seeds, paired:", compare(by_seed[a], by_seed[b], paired=True).sentence(
            names04[a], names04[b], scale=100, digits=1, unit=" points"))
        assert not alone.separated and all(len(v) >= 2 for v in by_seed.values())


@ends_with_commands("resnet20_pe_alpha4")
def exercise_3():
    """Paired: every row of the sweep ran the same seeds with the same data order. PE(4,4,1) and DE(4) have the
    same parameters (asserted), and their accuracies are not distinguishable with the sweep's seeds (the verdict
    prints how many). That does not say they are equal: it says these seeds cannot tell them apart, and the
    interval's ends bound the difference that could hide in it. PE(3,4,1) is worse than DE(4): there the interval
    excludes zero (asserted). Both verdicts hold for the sweep's recipe (printed: LeNet x2, its epochs and data),
    not for this notebook's ResNet-20 nor for the paper's runs. The ResNet-20 retraining, a GPU exercise (its ETA
    line prints the time first):"""
    from pe_lab import compare, load_sweep
    alpha_sweep = load_sweep("alpha")
    recipe = alpha_sweep.recipe
    print(f"the sweep's recipe: {recipe['model']} x{alpha_sweep.row('DE(4) x2').width:g} (base width), "
          f"{recipe['epochs']} epochs, train {recipe['data']['train'][0]}")
    def sweep_runs(label):
        return sorted(alpha_sweep.row(label).runs, key=lambda r: r.seed)
    alpha_verdicts = {}
    for label in ("PE(4,4,1) x2", "PE(3,4,1) x2"):
        assert [r.seed for r in sweep_runs(label)] == [r.seed for r in sweep_runs("DE(4) x2")]   # paired by seed
        alpha_verdicts[label] = compare([r.metrics["accuracy"] for r in sweep_runs(label)],
                                        [r.metrics["accuracy"] for r in sweep_runs("DE(4) x2")], paired=True)
        print(f"{label} ({alpha_sweep.row(label).params:,} params) vs DE(4) x2 "
              f"({alpha_sweep.row('DE(4) x2').params:,}): "
              + alpha_verdicts[label].sentence(label, "DE(4) x2", scale=100, digits=1, unit=" points"))
    assert alpha_sweep.row("PE(4,4,1) x2").params == alpha_sweep.row("DE(4) x2").params
    assert not alpha_verdicts["PE(4,4,1) x2"].separated
    assert alpha_verdicts["PE(3,4,1) x2"].separated and alpha_verdicts["PE(3,4,1) x2"].difference < 0


def exercise_4():
    """The confusion matrix's largest off-diagonal entry names the pair (printed below, for the committed run's
    seed 0). In that one run the members are less sure there: on those images at least one member votes against
    the others more often than on the test set overall (both shares printed; one run, so a description of it, not a
    tested finding)."""
    import torch
    from torchmetrics.functional.classification import multiclass_confusion_matrix
    _, committed_seed0 = load_committed("cifar10_resnet20")   # the committed run, also in QUICK mode
    pe_probs, pe_labels = committed_seed0["packed"]["test"], committed_seed0["packed"]["test_labels"]
    matrix = multiclass_confusion_matrix(pe_probs.mean(1).argmax(1), pe_labels, num_classes=len(classes))
    off = matrix - torch.diag(torch.diag(matrix))
    true, guess = divmod(int(off.argmax()), len(classes))
    votes = pe_probs.argmax(-1)
    disagree = (votes != votes.mode(1).values[:, None]).any(1).float()
    confused = (pe_labels == true) & (pe_probs.mean(1).argmax(1) == guess)
    print(f"most confused: {classes[true]} taken for {classes[guess]} ({int(off.max())} images); members disagree on "
          f"{100 * disagree[confused].mean():.0f} % of them vs {100 * disagree.mean():.0f} % overall")
    assert disagree[confused].mean() > disagree.mean()
