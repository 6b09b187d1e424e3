"""Solutions of notebooks/06_the_rivals.ipynb, one ``exercise_N`` per exercise (format: ``reading``)."""

import torch

from pe_lab import check_member_weight, contender_label, diversity

from .runs import ends_with_commands

# bound by the notebook's cells: the cost table measured in section 3
costs = ...


def exercise_1():
    r"""$\omega^j_m = \omega^j \circ (s_m r_m^\top)$: $z^j(c) = s_m(c) \sum_l \omega^j(c, l)\, r_m(l)\, h^{j-1}(l)$,
    so row $c$ of $\omega^j$ is scaled by $s_m(c)$ (outputs, length $C_j$) and column $l$ by $r_m(l)$ (inputs,
    length $C_{j-1}$): `weight` times the outer product `torch.outer(s_m, r_m)`."""
    def my_member_weight(weight, r_m, s_m):
        return weight * torch.outer(s_m, r_m)
    verdict = check_member_weight(my_member_weight)
    assert verdict, verdict


def exercise_2():
    """The cell prints, for each scale, the channels a mask keeps and the most channels two masks share. At
    `scale=1` every mask keeps all 8 channels: one network run $M$ times, $M$ identical members. Larger scales keep
    fewer channels and overlap less, but not steadily: the overlap is not monotone in the scale (a larger scale can
    share more channels than a smaller one; the cell finds such a pair), so whether the masks stay apart at one
    scale cannot be read off a neighbouring scale: each is measured. In this grid no two masks share a channel only
    at `scale=8`, where each mask keeps 2 of the 8 channels: four disjoint quarter-width members, an ensemble of
    thin independent networks like a PE's (a member's width is what the mask keeps, not $1/s$)."""
    from pe_lab import generate_masks
    overlaps, kept = {}, {}
    for scale in (1, 1.5, 2, 3, 4, 6, 8):
        masks = generate_masks(8, 4, scale)
        kept[scale] = int(masks[0].sum())
        overlaps[scale] = int(((masks @ masks.T) - torch.diag(masks.sum(1))).max())
        print(f"scale {scale}: {kept[scale]} of 8 channels per mask, at most {overlaps[scale]} shared by two masks")
    disjoint = [scale for scale, overlap in overlaps.items() if overlap == 0]
    rises = [(a, b) for a, b in zip(overlaps, list(overlaps)[1:], strict=False) if overlaps[b] > overlaps[a]]
    print("no shared channel at scale(s):", disjoint, "| overlap grows from scale a to scale b for (a, b) in", rises)
    assert kept[1] == 8 and disjoint == [8] and kept[8] == 2 and rises


@ends_with_commands("mimo_rho_0", "mimo_rho_1")
def exercise_3():
    r"""With $\rho = 0$ every slot gets its own image, so each member learns from its own data and the members
    disagree most; with $\rho = 1$ every slot sees the *same* image, the members learn the same function and hardly
    disagree: MIMO's diversity comes from the independent inputs. But diversity is not accuracy: at this budget
    (10,000 images, 5 epochs, a LeNet) the independent members are also much weaker, and the ensemble with $\rho =
    1$ is the more accurate one (the cell prints both; the default $\rho = 0.6$ was not run at this budget). One
    seed each: a measured pair of runs, not a tested ranking. `batch_repetition` (2 in both runs, the preset's) is
    the other knob: each step repeats the batch that many times and every slot draws its own permutation of the
    repeated batch, so each member sees every image that many times per step, each time beside a new draw for the
    other slots; these runs do not vary it. The committed exercise runs, with their CPU time:"""
    from pe_lab import assets_dir, exercise_run, load_predictions
    measured = {}
    for name in ("mimo_rho_0", "mimo_rho_1"):
        report_ = exercise_run(name)
        if report_ is not None:
            run = report_.runs[0]
            stored = load_predictions(assets_dir() / "results" / "exercises" / f"{name}-predictions-mimo-seed0.pt")
            measured[name] = diversity(stored["test"], stored["test_labels"])
            print(f"{name}: accuracy {100 * run.metrics['accuracy']:.1f} %, disagreement "
                  f"{100 * measured[name]['disagreement']:.1f} %, {run.train_seconds:.0f} s CPU")
    if len(measured) == 2:
        assert measured["mimo_rho_0"]["disagreement"] > measured["mimo_rho_1"]["disagreement"]
        assert measured["mimo_rho_0"]["ensemble_accuracy"] < measured["mimo_rho_1"]["ensemble_accuracy"]
        assert measured["mimo_rho_0"]["mean_member_accuracy"] < measured["mimo_rho_1"]["mean_member_accuracy"]


def exercise_4():
    """Read both from this notebook's cost table (the cell picks them from the measured `costs`, among every
    ensemble: DE, PE and the three rivals). Time as the limit: the fastest training step. Memory as the limit: the
    least training memory, which is more than the activation column: the weights, their gradients and the
    optimiser's state (with SGD and momentum, three float32 copies of every parameter) do not shrink with the batch
    and are $M$ times a Single's for a DE. The cell adds them to the activations; on a small network at batch 16
    they can change the answer. Why memory and time can pick different ensembles: a DE run one member after another
    holds one member's activations at a time but pays $M$ passes, while BatchEnsemble and Masksembles hold $M$
    copies of the batch. In QUICK mode the table is LeNet with few repeats, where timings are noisy: rerun it
    outside QUICK (ResNet-20) before choosing."""
    ensembles = [c for c in costs if c.name != "single"]
    memory = {c.name: c.activation_bytes + 3 * 4 * c.params for c in ensembles}   # bytes, float32
    for c in ensembles:
        print(f"{contender_label(c.name):14s} activations {c.activation_bytes / 2**20:6.1f} MiB + weights, gradients, "
              f"momentum {3 * 4 * c.params / 2**20:5.1f} MiB = {memory[c.name] / 2**20:6.1f} MiB; "
              f"train step {c.train_step_ms:.1f} ms")
    lightest = min(ensembles, key=lambda c: memory[c.name])
    fastest = min(ensembles, key=lambda c: c.train_step_ms)
    print(f"least training memory: {contender_label(lightest.name)} ({memory[lightest.name] / 2**20:.1f} MiB); "
          f"fastest step: {contender_label(fastest.name)} ({fastest.train_step_ms:.1f} ms)")
