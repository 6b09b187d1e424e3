"""The instructor pack: a worked solution for every exercise of every notebook, and the runs they read.

Students get the notebooks as they are; an instructor gets *filled copies*, the uvadlc way, with a
"Solutions" section appended to each notebook: one answer (prose) and, where the answer can be shown, one code
cell per exercise. The code runs in the notebook's own namespace after its last cell and ends in an ``assert``
where the answer is a fact, so the test suite executes the filled copies instead of the student ones and a
solution cannot rot::

    python -m pe_lab.solutions fill --out runs/instructor        # filled copies of notebooks/*.ipynb
    python -m pe_lab.solutions run --data ../shared/data         # the exercises' training runs (resumable)

Exercises that train read their measured run from ``assets/results/exercises/<name>.json`` (real data, seed 0,
command and CPU time in its provenance): ``EXERCISE_RUNS`` holds the exact commands, so an instructor can rerun
each one, and a solution prints the time that run took on the machine that made it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EXERCISE_RUNS", "SOLUTIONS", "SOLUTION_TAG", "Solution", "exercise_command", "exercise_numbers",
           "exercise_run", "fill"]


SOLUTION_TAG = "solution"  # every cell ``fill`` adds carries it; the book drops such cells


# The runs behind the exercises that ask a student to train (seed 0, real data; ``run`` adds data and output).
EXERCISE_RUNS = {
    "tutorial_member_loss_sum": ["--preset", "tutorial", "--methods", "packed", "--seeds", "0", "--member-loss", "sum"],
    "tutorial_lr_0.004": ["--preset", "tutorial", "--methods", "packed", "--seeds", "0", "--lr", "0.004"],
    "lenet_5_epochs": ["--preset", "lenet", "--methods", "single,packed", "--seeds", "0", "--epochs", "5"],
    "lenet_5_epochs_no_augment": ["--preset", "lenet", "--methods", "single,packed", "--seeds", "0", "--epochs", "5",
                                  "--no-augment"],
    "mimo_rho_0": ["--model", "lenet", "--methods", "mimo", "--seeds", "0", "--epochs", "5", "--batch-size", "128",
                   "--lr", "0.05", "--schedule", "cosine", "--train-per-class", "1000", "--rho", "0"],
    "mimo_rho_1": ["--model", "lenet", "--methods", "mimo", "--seeds", "0", "--epochs", "5", "--batch-size", "128",
                   "--lr", "0.05", "--schedule", "cosine", "--train-per-class", "1000", "--rho", "1"],
    "resnet20_pe_alpha4": ["--model", "resnet20", "--methods", "packed", "--alpha", "4", "--num-estimators", "4",
                           "--gamma", "1", "--epochs", "3", "--seeds", "0"],
}


def exercise_command(name: str) -> str:
    """The shell command of exercise run ``name``, as a student types it (``DATA``: where CIFAR-10 lies)."""
    return ("python -m pe_lab.experiment " + " ".join(EXERCISE_RUNS[name])
            + f" --data DATA --out runs/exercises/{name}.json")


def exercise_run(name: str) -> dict | None:
    """The committed report of exercise run ``name`` (``assets/results/exercises/<name>.json``), or ``None``
    (and its command printed) where it was not run yet."""
    from ..config import assets_dir
    from ..results.report import read_report

    path = assets_dir() / "results" / "exercises" / f"{name}.json"
    if not path.exists():
        print(f"no committed run {name} yet; make it with: {exercise_command(name)}")
        return None
    return read_report(path)


@dataclass(frozen=True)
class Solution:
    """Exercise ``exercise`` of a notebook: the answer in prose (Markdown) and the code that shows it."""

    exercise: int
    answer: str
    code: str = ""


def _runs_note(*names: str) -> str:
    return "\n".join(f"`{exercise_command(n)}`" for n in names)


S = Solution


SOLUTIONS: dict[str, tuple[Solution, ...]] = {
    "01_convolution_math": (
        S(1, "Input channel $l$ lies in group $g = \\lfloor l / (C_{j-1}/G) \\rfloor$, and a group's inputs are "
             "read by exactly the same group's outputs: the $C_j/G$ output channels "
             "$g \\cdot C_j/G, \\dots, (g+1) C_j/G - 1$. (Dense, $G = 1$: every output reads every input.)",
          """def readers(channel, c_in, c_out, groups):
    group = channel // (c_in // groups)                      # the input block of this channel
    return range(group * (c_out // groups), (group + 1) * (c_out // groups))
verdict = check_readers(readers)
assert verdict, verdict"""),
        S(2, "Pad the input first, then step the window by `stride`: the output side is "
             "$\\lfloor (H + 2\\,\\text{padding} - k)/\\text{stride} \\rfloor + 1$ for a $k \\times k$ kernel. The "
             "loops match `F.conv2d` (the cell asserts a difference below $10^{-5}$).",
          """def conv2d_by_loops_strided(h, weight, bias, stride=1, padding=0):
    h = F.pad(h, (padding, padding, padding, padding))
    c_out, _, k, _ = weight.shape
    height, width = (h.shape[1] - k) // stride + 1, (h.shape[2] - k) // stride + 1
    z = torch.zeros(c_out, height, width)
    for c in range(c_out):
        for u in range(height):
            for v in range(width):
                window = h[:, u * stride:u * stride + k, v * stride:v * stride + k]
                z[c, u, v] = (weight[c] * window).sum() + bias[c]
    return z
z_strided = conv2d_by_loops_strided(h, weight, bias, stride=2, padding=1)
print("output", tuple(z_strided.shape))
assert torch.allclose(z_strided, F.conv2d(h[None], weight, bias, stride=2, padding=1)[0], atol=1e-5)"""),
        S(3, "With $G = 64$ groups each output channel reads one input channel: $C_j \\cdot (C_{j-1}/G) \\cdot k^2 = "
             "64 \\cdot 1 \\cdot 3^2 = 576$ weights (plus 64 biases), $1/G = 1/64$ of the dense layer's "
             "$64 \\cdot 64 \\cdot 3^2 = 36{,}864$; the cell counts both.",
          """depthwise = torch.nn.Conv2d(64, 64, 3, groups=64, bias=False)
print("depthwise weights:", depthwise.weight.numel(), "| dense:", torch.nn.Conv2d(64, 64, 3, bias=False).weight.numel())
assert depthwise.weight.numel() == 64 * 1 * 3 * 3"""),
        S(4, "The library is far faster: the cell prints the ratio measured now, after a warm-up call (the first "
             "call of `F.conv2d` pays a one-off setup). The loops run one tiny tensor operation per (output "
             "channel, input channel, position), each paying Python and dispatch overhead of microseconds; "
             "`F.conv2d` runs one vectorised kernel (oneDNN on a CPU). The loops show *which* numbers are summed; "
             "they are a specification, not an implementation.",
          """import time
h64, w64, b64 = torch.randn(64, 6, 6), torch.randn(64, 8, 3, 3), torch.randn(64)   # 64 channels, 8 groups
start = time.perf_counter(); loops = grouped_conv2d_by_loops(h64, w64, b64, 8); t_loops = time.perf_counter() - start
F.conv2d(h64[None], w64, b64, groups=8)                                             # warm-up
start = time.perf_counter()
for _ in range(100):
    lib = F.conv2d(h64[None], w64, b64, groups=8)[0]
t_lib = (time.perf_counter() - start) / 100
print(f"loops {1e3 * t_loops:.1f} ms, F.conv2d {1e3 * t_lib:.3f} ms: {t_loops / t_lib:.0f}x (a benchmark, not a test)")
assert torch.allclose(loops, lib, atol=1e-4)"""),
    ),
    "02_masks": (
        S(1, "With $G = M\\gamma = 6$ groups, each maps $12/6 = 2$ output channels from $6/6 = 1$ input channel; "
             "member $m = 1$ owns groups $m\\gamma = 2$ and 3: the blocks rows (output channels $c$) 4-5 x column "
             "(input channel $l$) 2 and rows 6-7 x column 3.",
          """your_mask = torch.zeros(12, 6)
for group in (2, 3):                                  # member m owns groups m*gamma ... m*gamma + gamma - 1
    your_mask[2 * group:2 * group + 2, group] = 1
verdict = check_mask(your_mask, in_channels=3, out_channels=6, num_estimators=3, gamma=2, alpha=2, member=1)
assert verdict, verdict"""),
        S(2, "At $\\alpha = 2$ the layer has 12 channels, and $M\\gamma$ must divide them: $M\\gamma \\in "
             "\\{1, 2, 3, 4, 6, 12\\}$. Every other pair breaks that one rule, and its error says so.",
          """valid, refused = [], {}
for num_estimators in range(1, 7):
    for gamma in range(1, 7):
        try:
            PackedConv2d(6, 6, 1, alpha=2, num_estimators=num_estimators, gamma=gamma)
            valid.append((num_estimators, gamma))
        except ValueError as error:
            refused[(num_estimators, gamma)] = str(error)
print("valid (M, gamma):", valid)
print("e.g. (5, 1):", refused[(5, 1)])
assert all(12 % (m * g) == 0 for m, g in valid) and all(12 % (m * g) for m, g in refused)"""),
        S(3, "A first layer's member masks are full-width row blocks: member $m$ owns its $\\alpha C_1 / M$ output "
             "channels and reads *every* input channel (the image). It stays independent because nothing it "
             "computes feeds another member: the image is read, never written.",
          """first = PackedConv2d(3, 4, 3, alpha=2, num_estimators=2, first=True)
first_masks = [member_mask(first, m)[:, :, 0, 0] for m in range(2)]
mask_figure([member_mask(first, m) for m in range(2)], title="first layer, M=2")
plt.show()
assert all(bool(mask[mask.sum(1) > 0].all()) for mask in first_masks)       # an owned row reads every input
assert not (first_masks[0] * first_masks[1]).any()                          # no output row is shared"""),
        S(4, "`from_dense` refuses it and names the rule: the dense weight has a non-zero entry outside the block "
             "mask, so it is not a packed layer (a weight there would let one member read another's channels).",
          """from pe_lab import from_dense
packed = PackedConv2d(4, 4, 3, alpha=2, num_estimators=2)
dense = to_dense(packed)
with torch.no_grad():
    dense.weight[0, -1] = 1.0                      # output channel 0 (member 0) reads input 7 (member 1)
try:
    from_dense(dense, like=packed)
    raise AssertionError("from_dense accepted a weight outside the mask")
except ValueError as error:
    print(error)"""),
        S(5, "With `gamma=1` in the second layer, each member's two subgroups mix: after both layers a member's "
             "outputs read all 4 of its channels (one 4 x 4 block per member), and that layer has twice the weights "
             "(32 instead of 16). Members still never mix.",
          """mixed = [PackedConv2d(4, 4, 1, alpha=2, num_estimators=2, gamma=2),
         PackedConv2d(4, 4, 1, alpha=2, num_estimators=2, gamma=1)]
reach = torch.eye(8)
for layer in mixed:
    reach = (layer_mask(layer)[:, :, 0, 0] @ reach).clamp(max=1)
print(reach.int())
print("weights, gamma=2 vs gamma=1:", mixed[0].weight.numel(), mixed[1].weight.numel())
assert torch.equal(reach, torch.block_diag(torch.ones(4, 4), torch.ones(4, 4)))
assert mixed[1].weight.numel() == 2 * mixed[0].weight.numel()"""),
    ),
    "03_packed_ensembles": (
        S(1, "A hidden layer has $\\alpha C_j \\cdot \\alpha C_{j-1} / (M\\gamma) \\cdot k^2$ weights (each of the "
             "$\\alpha C_j$ output channels reads the $\\alpha C_{j-1}/(M\\gamma)$ inputs of its group): "
             "$256 \\cdot 128 / 8 \\cdot 9 = 36{,}864$.",
          """def pe_weights(c_in, c_out, k, alpha, num_estimators, gamma):
    return alpha * c_out * alpha * c_in / (num_estimators * gamma) * k * k
verdict = check_pe_params(pe_weights, in_channels=64, out_channels=128, kernel_size=3, alpha=2, num_estimators=4,
                          gamma=2)
assert verdict, verdict
layer = PackedConv2d(64, 128, 3, alpha=2, num_estimators=4, gamma=2, bias=False)
assert pe_weights(64, 128, 3, 2, 4, 2) == layer.weight.numel() == 36_864"""),
        S(2, "A hidden layer has $\\alpha^2/M$ of the base layer's weights, a DE $M$ times them: $\\alpha^2/M = M$ "
             "gives $\\alpha = M = 4$. `pack` of four plain networks builds exactly PE(4, 4, 1): a Deep Ensemble *is* "
             "a PE with $\\alpha = M$, so it has the DE's parameters, and computes the same logits.",
          """members4 = [build("resnet20", "single").eval() for _ in range(4)]
packed4 = pack(members4).eval()
with torch.no_grad():
    same = torch.allclose(packed4(images), torch.stack([m(images)[:, 0] for m in members4], 1), atol=1e-4)
params = sum(p.numel() for p in packed4.parameters()), sum(p.numel() for m in members4 for p in m.parameters())
print("PE(alpha, M, gamma) =", (packed4.spec.alpha, packed4.spec.num_estimators, packed4.spec.gamma),
      "| params PE vs DE:", params, "| same logits:", same)
assert packed4.spec.alpha == 4 and params[0] == params[1] and same"""),
        S(3, "The second layer (16 -> 32 at $\\alpha = 2$: 32 inputs) is the first to refuse: 32 channels do not split "
             "into $M\\gamma = 12$ groups, and the error names that rule. Every layer builds when $4\\gamma$ divides "
             "both 32 and 64 (and the head's $M = 4$ groups are always fine): $\\gamma \\in \\{1, 2, 4, 8\\}$.",
          """def tiny(gamma):
    return nn.Sequential(
        PackedConv2d(3, 16, 3, alpha=2, num_estimators=4, gamma=gamma, first=True, padding=1),
        PackedConv2d(16, 32, 3, alpha=2, num_estimators=4, gamma=gamma, padding=1, stride=2),
        PackedLinear(32, 10, alpha=2, num_estimators=4, gamma=gamma, last=True))
builds = []
for g in range(1, 9):
    try:
        tiny(g)
        builds.append(g)
    except ValueError as error:
        if g == 3:
            print("gamma=3:", error)
print("gamma that build every layer:", builds)
assert builds == [1, 2, 4, 8]"""),
        S(4, "Yes. The cell reads the two committed CPU benchmarks (`assets/results/bench-resnet18-cpu.json`, "
             "`bench-resnet20-cpu.json`; their batch sizes and machine are printed with them) and prints each "
             "PE/Single train-step ratio: ResNet-18's is the smaller one (asserted), although its FLOPs ratio is, "
             "like ResNet-20's, about 1. Grouped convolutions with many channels per group do more arithmetic per "
             "byte moved and per kernel launched; with 8 channels per group (ResNet-20's first stage: "
             "$\\alpha C_j/(M\\gamma) = 32/4$) fixed overheads weigh more. The cell also measures the exercise's "
             "setting now (ResNet-18 at batch 16, single and packed only, so that it fits Binder's 2 GB; in QUICK "
             "mode ResNet-20 at batch 16, a smoke test): a benchmark, not a test, since a busy machine moves it.",
          """ratios = {}
for name in ("resnet18", "resnet20"):
    bench = json.loads((assets_dir() / "results" / f"bench-{name}-cpu.json").read_text())
    step = {c["name"]: c["train_step_ms"] for c in bench["costs"]}
    flops = {c["name"]: c["flops"] for c in bench["costs"]}
    ratios[name] = step["packed"] / step["single"]
    print(f"committed {name} (batch {bench['config']['batch']}, {bench['provenance']['hardware']}): PE/Single train "
          f"step {ratios[name]:.2f}x, FLOPs {flops['packed'] / flops['single']:.3f}x")
assert ratios["resnet18"] < ratios["resnet20"]
now_model = "resnet20" if QUICK else "resnet18"
wide = measure(now_model, batch_size=16, repeats=2 if QUICK else 5, warmup=1 if QUICK else 2, device="cpu",
               contenders=("single", "packed"))
ratio_now = wide[1].train_step_ms / wide[0].train_step_ms
print(f"measured now, {now_model} at batch 16: PE/Single train step {ratio_now:.2f}x (a benchmark, not a test)")"""),
        S(5, "A `GroupNorm` normalises each sample over the channels of one group, in either mode (it keeps no "
             "running statistics). With one group over all $\\alpha C = 16$ channels it mixes the two members in "
             "both modes, as torch-uncertainty's non-first `PackedLayerNorm` does; with `num_groups` a multiple of "
             "$M$ (here 2) every group lies inside one member's channel block, so the members stay apart. A "
             "`BatchNorm2d(16)` over the packed channels normalises each channel on its own (each channel belongs "
             "to one member), so it is independent in both modes too; what mixed members in `QuietPE` was a "
             "BatchNorm over the member-major *batch*. The cell audits the three (asserted).",
          """verdicts = {}
for name, norm in (("GroupNorm(1, 16)", nn.GroupNorm(1, 16)), ("GroupNorm(2, 16)", nn.GroupNorm(2, 16)),
                   ("BatchNorm2d(16)", nn.BatchNorm2d(16))):
    set_seed(0)
    model = QuietPE()
    model.features[3] = norm
    verdicts[name] = audit_members(model, num_estimators=2, input_shape=(4, 3, 16, 16)).independent
    print(f"{name}: {'independent' if verdicts[name] else 'mixes members'} (eval and train audited)")
assert verdicts == {"GroupNorm(1, 16)": False, "GroupNorm(2, 16)": True, "BatchNorm2d(16)": True}"""),
    ),
    "04_de_vs_pe_cifar10": (
        S(1, "(a) Softmax each member's logits, then average over the member dimension: "
             "`logits.softmax(-1).mean(1)`. (b) The rules disagree when one member is very sure of one class and "
             "another splits large logits between two others: e.g. member 1 `[10, 0, 0]`, member 2 `[0, 12, 11]`. "
             "The mean logits `[5, 6, 5.5]` pick class 1, but the mean of the probabilities is about "
             "`[0.50, 0.37, 0.13]`: class 0. Averaging logits lets member 2's large numbers outvote member 1's "
             "certainty; averaging predictions gives each member one vote of total weight 1.",
          """def my_predict_proba(logits):
    return logits.softmax(-1).mean(1)
your_logits = [[[10.0, 0.0, 0.0], [0.0, 12.0, 11.0]]]
verdict = check_ensemble_average(my_predict_proba) and check_rules_differ(your_logits)
assert verdict, verdict"""),
        S(2, "One CPU epoch of the three methods costs about a third of the committed 3-epoch run's training time "
             "(printed below: seconds per epoch, seed 0, on the 2-core machine that made it), and one epoch leaves "
             "the numbers below the table's. One seed cannot rank two methods: a confidence interval for a "
             "difference needs at least two seeds on each side, and `compare` gives none with one (section 5). The "
             "cell shows it on the committed runs: the verdict from seed 0 alone, then from all three seeds, paired.",
          """from pe_lab.evaluation.verdict import compare
committed04, _ = load_committed("cifar10_resnet20")   # the 3-seed real run
epochs04 = len(committed04["runs"][0]["history"]["epoch_seconds"])   # the epochs it trained
per_epoch = {r["method"]: r["train_seconds"] / epochs04 for r in committed04["runs"] if r["seed"] == 0}
print("CPU seconds per epoch (committed run, seed 0):", {m: round(s) for m, s in per_epoch.items()})
by_seed = {m: [r["metrics"]["accuracy"] for r in sorted(committed04["runs"], key=lambda r: r["seed"])
               if r["method"] == m] for m in per_epoch}
for a, b in (("packed", "single"), ("deep", "single")):
    alone = compare(by_seed[a][:1], by_seed[b][:1])
    print("seed 0 alone:", alone.sentence(a, b, scale=100, digits=1, unit=" points"))
    print("3 seeds, paired:", compare(by_seed[a], by_seed[b], paired=True).sentence(a, b, scale=100, digits=1,
                                                                                     unit=" points"))
    assert not alone.separated and all(len(v) == 3 for v in by_seed.values())"""),
        S(3, "Paired: every row of the sweep ran the same seeds with the same data order. PE(4,4,1) and DE(4) have "
             "the same parameters, and their accuracies are not distinguishable with 3 seeds (printed). That does "
             "not say they are equal: it says these 3 seeds cannot tell them apart, and the interval's ends bound "
             "the difference that could hide in it. PE(3,4,1) is worse than DE(4): there the interval excludes "
             "zero. Both verdicts hold for LeNet x2 at 10 epochs on JPEG CIFAR-10, not for this notebook's ResNet-20 "
             "nor for the paper's runs. The ResNet-20 retraining, a GPU exercise (its ETA line prints the time "
             "first):\n\n" + _runs_note("resnet20_pe_alpha4"),
          """from pe_lab import load_sweep
from pe_lab.evaluation.verdict import compare
swept = {r["label"]: r for r in load_sweep("alpha")["rows"]}
def sweep_runs(label):
    return sorted(swept[label]["runs"], key=lambda r: r["seed"])
alpha_verdicts = {}
for label in ("PE(4,4,1) x2", "PE(3,4,1) x2"):
    assert [r["seed"] for r in sweep_runs(label)] == [r["seed"] for r in sweep_runs("DE(4) x2")]   # paired by seed
    alpha_verdicts[label] = compare([r["metrics"]["accuracy"] for r in sweep_runs(label)],
                                    [r["metrics"]["accuracy"] for r in sweep_runs("DE(4) x2")], paired=True)
    print(f"{label} ({swept[label]['params']:,} params) vs DE(4) x2 ({swept['DE(4) x2']['params']:,}): "
          + alpha_verdicts[label].sentence(label, "DE(4) x2", scale=100, digits=1, unit=" points"))
assert swept["PE(4,4,1) x2"]["params"] == swept["DE(4) x2"]["params"]
assert not alpha_verdicts["PE(4,4,1) x2"].separated
assert alpha_verdicts["PE(3,4,1) x2"].separated and alpha_verdicts["PE(3,4,1) x2"].difference < 0"""),
        S(4, "The confusion matrix's largest off-diagonal entry names the pair (printed below, for the committed "
             "run's seed 0). The members are less sure there: on those images at least one member votes against "
             "the others more often than on the test set overall (both shares printed).",
          """import torch
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
assert disagree[confused].mean() > disagree.mean()"""),
    ),
    "05_calibration_and_ood": (
        S(1, "Bin the confidences into `num_bins` equal intervals $(b/n, (b+1)/n]$, and sum over bins the share of "
             "images in the bin times |accuracy - mean confidence| there.",
          """import torch
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
assert verdict, verdict"""),
        S(2, "ECE is an estimate from binned data. With few bins, over- and under-confident images in one bin cancel; "
             "with many, each bin holds few images and its |accuracy - confidence| is noisy, which never cancels, "
             "so ECE grows. The cell prints every model's ECE at 5 and 30 bins and names the one that moves most.",
          """by_bins = {NAMES[m]: [ece(p["test"].mean(1), p["test_labels"], n) for n in (5, 30)]
           for m, p in predictions.items()}
for name, (five, thirty) in by_bins.items():
    print(f"{name:10s} ECE 5 bins {five:.4f} -> 30 bins {thirty:.4f}")
print("moves most:", max(by_bins, key=lambda name: abs(by_bins[name][1] - by_bins[name][0])))
assert all(thirty >= five - 1e-3 for five, thirty in by_bins.values())"""),
        S(3, "The cell ranks the criteria by AUROC for each ensemble from the loaded predictions; for the committed "
             "ResNet-20s mutual information comes first for both the PE and the DE. Mutual information and "
             "disagreement exist only for ensembles, and which criterion wins depends on the model too: on the "
             "committed LeNets mutual information points the wrong way (section 4, *Below 50 %*), and a single "
             "AUROC difference between criteria, from one seed, is not a tested ranking.",
          """import torch
for method, p in predictions.items():
    if p["test"].shape[1] == 1:
        continue
    scores = {c: ood_metrics(ood_score(p["test"], c), ood_score(p["ood"], c))["auroc"] for c in OOD_CRITERIA}
    best = max(scores, key=scores.get)
    print(f"{NAMES[method]:10s} best criterion: {best} ({100 * scores[best]:.1f}); "
          + ", ".join(f"{c} {100 * s:.1f}" for c, s in scores.items()))
    if source == "committed real run":
        assert best == "mutual_information", best"""),
        S(4, "Choose $T$ by NLL on the validation half only, then report the test half. On the committed run the PE "
             "is under-confident in every filled bin (the cell counts them, as section 3 does), so the chosen $T$ is "
             "below 1 (it sharpens), and it lowers the NLL on the held-out half (printed below). Choosing $T$ on the "
             "half you report fits the reported number itself: an optimistic, not a measured, result.",
          """from pe_lab import nll, with_temperature
member_probs, labels_ = predictions["packed"]["test"], predictions["packed"]["test_labels"]
val, held = (member_probs[0::2], labels_[0::2]), (member_probs[1::2], labels_[1::2])
grid = [0.5 + 0.1 * i for i in range(26)]
best_t = min(grid, key=lambda t: nll(with_temperature(val[0], t).mean(1), val[1]))
before = nll(held[0].mean(1), held[1]), ece(held[0].mean(1), held[1], 15)
scaled = with_temperature(held[0], best_t).mean(1)
after = nll(scaled, held[1]), ece(scaled, held[1], 15)
print(f"T = {best_t:.1f} (chosen on the validation half); test half NLL {before[0]:.3f} -> {after[0]:.3f}, "
      f"ECE {before[1]:.4f} -> {after[1]:.4f}")
direction = calibration_direction(member_probs.mean(1), labels_, 15)
print(f"PE over-confident in {direction['over_bins']} of {direction['filled_bins']} bins, under-confident in "
      f"{direction['under_bins']}")
assert after[0] <= before[0] + 0.01
if source == "committed real run":
    assert direction["over_bins"] == 0 and best_t < 1"""),
    ),
    "06_the_rivals": (
        S(1, "$W_m = W \\circ (s_m r_m^\\top)$: $y_c = s_m[c] \\sum_l W[c, l]\\, r_m[l]\\, x_l$, so row $c$ is scaled "
             "by $s_m[c]$ (outputs, length $C_j$) and column $l$ by $r_m[l]$ (inputs, length $C_{j-1}$): the outer "
             "product `torch.outer(s_m, r_m)`.",
          """def my_member_weight(W, r_m, s_m):
    return W * torch.outer(s_m, r_m)
verdict = check_member_weight(my_member_weight)
assert verdict, verdict"""),
        S(2, "The cell prints, for each scale, the channels a mask keeps and the most channels two masks share. At "
             "`scale=1` every mask keeps all 8 channels: one network run $M$ times, $M$ identical members. Larger "
             "scales keep fewer channels and overlap less, but not steadily: the overlap is not monotone in the "
             "scale (a larger scale can share more channels than a smaller one; the cell finds such a pair), so "
             "there is no threshold beyond which the masks stay apart. In this grid no two masks share a channel "
             "only at `scale=8`, where each mask keeps 2 of the 8 channels: four disjoint quarter-width members, an "
             "ensemble of thin independent networks like a PE's (a member's width is what the mask keeps, not $1/s$).",
          """from pe_lab import generate_masks
overlaps, kept = {}, {}
for scale in (1, 1.5, 2, 3, 4, 6, 8):
    masks = generate_masks(8, 4, scale)
    kept[scale] = int(masks[0].sum())
    overlaps[scale] = int(((masks @ masks.T) - torch.diag(masks.sum(1))).max())
    print(f"scale {scale}: {kept[scale]} of 8 channels per mask, at most {overlaps[scale]} shared by two masks")
disjoint = [scale for scale, overlap in overlaps.items() if overlap == 0]
rises = [(a, b) for a, b in zip(overlaps, list(overlaps)[1:]) if overlaps[b] > overlaps[a]]
print("no shared channel at scale(s):", disjoint, "| overlap grows from scale a to scale b for (a, b) in", rises)
assert kept[1] == 8 and disjoint == [8] and kept[8] == 2 and rises"""),
        S(3, "With $\\rho = 0$ every slot gets its own image, so each member learns from its own data and the "
             "members disagree most; with $\\rho = 1$ every slot sees the *same* image, the members learn the same "
             "function and hardly disagree: MIMO's diversity comes from the independent inputs. But diversity is not "
             "accuracy: at this budget (10,000 images, 5 epochs, a LeNet) the independent members are also much "
             "weaker, and the ensemble with $\\rho = 1$ is the more accurate one (the cell prints both; the default "
             "$\\rho = 0.6$ was not run at this budget). One seed each: a measured pair of runs, not a tested "
             "ranking. The committed exercise runs, with their CPU time:\n\n"
             + _runs_note("mimo_rho_0", "mimo_rho_1"),
          """from pe_lab import assets_dir, exercise_run, load_predictions
measured = {}
for name in ("mimo_rho_0", "mimo_rho_1"):
    report_ = exercise_run(name)
    if report_ is not None:
        run = report_["runs"][0]
        stored = load_predictions(assets_dir() / "results" / "exercises" / f"{name}-predictions-mimo-seed0.pt")
        measured[name] = diversity(stored["test"], stored["test_labels"])
        print(f"{name}: accuracy {100 * run['metrics']['accuracy']:.1f} %, disagreement "
              f"{100 * measured[name]['disagreement']:.1f} %, {run['train_seconds']:.0f} s CPU")
if len(measured) == 2:
    assert measured["mimo_rho_0"]["disagreement"] > measured["mimo_rho_1"]["disagreement"]
    assert measured["mimo_rho_0"]["ensemble_accuracy"] < measured["mimo_rho_1"]["ensemble_accuracy"]
    assert measured["mimo_rho_0"]["mean_member_accuracy"] < measured["mimo_rho_1"]["mean_member_accuracy"]"""),
        S(4, "Read both from this notebook's cost table (the cell picks them from the measured `costs`). Memory "
             "as the limit: the ensemble with the smallest training activations; time as the limit: the fastest "
             "training step among the ensembles. Why they can differ: a DE run one member after another holds one "
             "member's activations at a time but pays $M$ passes, while BatchEnsemble and Masksembles hold $M$ "
             "copies of the batch. In QUICK mode the table is LeNet with few repeats, where timings are noisy: "
             "rerun it outside QUICK (ResNet-20) before choosing.",
          """ensembles = [c for c in costs if c.name != "single"]
lightest = min(ensembles, key=lambda c: c.activation_bytes)
fastest = min(ensembles, key=lambda c: c.train_step_ms)
print(f"least activation memory: {contender_label(lightest.name)} ({lightest.activation_bytes / 2**20:.1f} MiB); "
      f"fastest step: {contender_label(fastest.name)} ({fastest.train_step_ms:.1f} ms)")"""),
    ),
    "07_reproducing_the_tutorial": (
        S(1, "Rows are member-major, so row $mB + i$ is member $m$'s prediction for image $i$: the labels repeat "
             "*as a block* $M$ times, `labels.repeat(M)`, and the tutorial's loss is their mean.",
          """def my_loss(logits, labels):
    return F.cross_entropy(logits, labels.repeat(len(logits) // len(labels)))
verdict = check_tutorial_loss(my_loss)
assert verdict, verdict"""),
        S(2, "The two fixes are the same step: for SGD with momentum and no weight decay (the tutorial's recipe), "
             "summing the member losses multiplies every gradient, hence the momentum buffer and the update, by "
             "$M$, exactly as multiplying the learning rate by $M$ does; the two committed runs give the same "
             "numbers (printed). And that one change accounts for most of the gap: the PE's accuracy rises from the "
             "tutorial PE's to within about a point of the Single's (seed 0 of each). The rest is the other "
             "explanation, 2 epochs at batch 4 for half-width members. Commands:\n\n"
             + _runs_note("tutorial_member_loss_sum", "tutorial_lr_0.004"),
          """from pe_lab import exercise_run
base = {r["method"]: r["metrics"]["accuracy"] for r in tutorial["runs"] if r["seed"] == 0}
fixed = {}
for name in ("tutorial_member_loss_sum", "tutorial_lr_0.004"):
    report_ = exercise_run(name)
    if report_ is not None:
        run = report_["runs"][0]
        fixed[name] = run["metrics"]["accuracy"]
        print(f"{name}: PE {100 * fixed[name]:.1f} % ({run['train_seconds']:.0f} s CPU) vs tutorial PE "
              f"{100 * base['packed']:.1f} %, Single {100 * base['single']:.1f} % (seed 0)")
if len(fixed) == 2:
    assert abs(fixed["tutorial_member_loss_sum"] - fixed["tutorial_lr_0.004"]) < 0.005   # the same step
    lr_fixed = fixed["tutorial_lr_0.004"]
    assert lr_fixed - base["packed"] > 0.02 and base["single"] - lr_fixed < 0.02"""),
        S(3, "Not the same class, and the opposite of the usual guess: the cell computes, per class, the "
             "ensemble's gain over its mean member and the share of images its members disagree on, and their rank "
             "correlation is *negative* for the tutorial's PE. The classes the members disagree on most (cat, dog, "
             "bird) are the hard ones, where most members are wrong, each in its own way, so averaging has no "
             "right majority to find; the largest gains are on classes the members often get right, but not all "
             "together. Disagreement is necessary for a gain, not sufficient.",
          """import torch
gain, split = {}, {}
p = tutorial_predictions["packed"]
votes = p["test"].argmax(-1)
for c, name in enumerate(classes):
    rows_c = p["test_labels"] == c
    member_acc = (votes[rows_c] == c).float().mean()
    gain[name] = float((p["test"][rows_c].mean(1).argmax(1) == c).float().mean() - member_acc)
    split[name] = float((votes[rows_c] != votes[rows_c].mode(1).values[:, None]).any(1).float().mean())
top = max(gain, key=gain.get)
order = sorted(gain, key=gain.get)
by_split = sorted(split, key=split.get)
ranks = torch.tensor([[order.index(n) for n in classes], [by_split.index(n) for n in classes]], dtype=torch.float)
rank_corr = torch.corrcoef(ranks)[0, 1]
print(f"largest gain: {top} ({100 * gain[top]:+.1f} points), disagreement there {100 * split[top]:.0f} %; "
      f"most disagreement: {max(split, key=split.get)}; rank correlation gain/disagreement {rank_corr:.2f}")
assert rank_corr < 0"""),
        S(4, "Measured, the prediction most people make (thin members need augmentation more) is not what this "
             "budget shows: at 5 epochs crop-and-flip *lowers* the accuracy of both the Single and the PE (it is a "
             "regulariser, and 5 epochs are too few to overfit; its gain shows over longer training such as the "
             "20-epoch preset), and by about as much for both (one seed each: a difference under a point is noise). "
             "The committed runs (Single and PE, seed 0, with and without augmentation):\n\n"
             + _runs_note("lenet_5_epochs", "lenet_5_epochs_no_augment"),
          """from pe_lab import exercise_run
with_aug, without = exercise_run("lenet_5_epochs"), exercise_run("lenet_5_epochs_no_augment")
change = {}
for method in ("single", "packed") if with_aug and without else ():
    a = next(r for r in with_aug["runs"] if r["method"] == method)
    b = next(r for r in without["runs"] if r["method"] == method)
    acc_a, acc_b = a["metrics"]["accuracy"], b["metrics"]["accuracy"]
    change[method] = acc_a - acc_b
    print(f"{method:7s} with crop+flip {100 * acc_a:.1f} %, without {100 * acc_b:.1f} % "
          f"({100 * (acc_a - acc_b):+.1f} points; {a['train_seconds']:.0f} s CPU)")
assert all(delta < 0 for delta in change.values())"""),
    ),
    "08_when_does_pe_match_de": (
        S(1, "A member of PE($\\alpha$, $M$, $\\gamma$) at base width $w$ has $\\alpha w C_j / M$ channels in layer "
             "$j$: the widened $\\alpha w C_j$ split among $M$ members.",
          """def member_channels(base_channels, alpha, num_estimators, width):
    return alpha * width * base_channels / num_estimators
verdict = check_member_channels(member_channels)
assert verdict, verdict"""),
        S(2, "The cell trains the toy at several hidden widths (a few seconds each) and prints the narrowest where "
             "PE(2,4,1) is within 2 points of DE(4) on each dataset. Moons is easier than spirals (one curved "
             "boundary between two classes, against interleaved spiral arms), so smaller members suffice there.",
          """narrowest = {}
for kind in ("spirals", "moons"):
    for hidden in (4, 8, 16, 32):
        r = toy_compare(kind, hidden=hidden, alpha=2, epochs=TOY_EPOCHS)["results"]
        pe_acc, de_acc = (next(v.metrics["accuracy"] for k, v in r.items() if k.startswith(p)) for p in ("PE", "DE"))
        if de_acc - pe_acc <= 0.02:
            narrowest[kind] = hidden
            break
print("narrowest hidden width with PE within 2 points of DE:", narrowest)
assert narrowest.get("moons", 99) <= narrowest.get("spirals", 99)"""),
        S(3, "At a small budget one network wins; at the largest the sweep cannot yet tell. The cell prints, each "
             "through `compare`, the Single's gain from each doubling of its width and DE(4) at $w$ against the "
             "Single at $2w$ (the same parameters) at each budget. A LeNet at 1x or 2x is far from saturated: a "
             "doubling buys the Single a lot, so four networks of half the width lose more to their narrowness than "
             "averaging wins back (asserted: at the smallest budget the DE is worse than the Single, its 95 % "
             "interval below zero). As the Single's gain per doubling flattens, a network twice as wide buys less "
             "than four independent ones, and the ensemble can pass it: the regime the paper works in. At the "
             "largest budget the verdict is *not distinguishable*: a flip becomes a finding only when `compare`'s "
             "interval for DE minus Single excludes zero, which needs more seeds than the widest rows have (the "
             "table's last column). PE(2,4,1) at $2w$ is DE(4) at $w$ packed into one network, so the two track "
             "each other at every budget.",
          """rows_by = {(r["method"], r["width"]): r for r in width["rows"]}
singles = sorted((r for r in width["rows"] if r["method"] == "single"), key=lambda r: r["width"])
for narrow_single, wide_single in zip(singles, singles[1:]):
    print("one doubling:", versus(wide_single, narrow_single))
for w in sorted({r["width"] for r in width["rows"]}):
    de, one = rows_by.get(("deep", w)), rows_by.get(("single", 2 * w))
    if de and one:
        print(f"equal parameters ({one['params']:,} vs {de['params']:,}):", versus(de, one))
de1, single2 = by_seed(rows_by[("deep", 1.0)]), by_seed(rows_by[("single", 2.0)])
smallest = compare([de1[s] for s in sorted(de1)], [single2[s] for s in sorted(de1)], paired=True)
assert smallest.separated and smallest.difference < 0  # one network wins the smallest budget"""),
        S(4, "Same architecture, same parameters; what differs is how they train: (1) a DE's members each draw their "
             "own shuffle and augmentation (their own generator), a PE's members share every batch and crop; "
             "(2) a DE's members are separate optimiser states stepped one after another, a PE's one optimiser over "
             "one tensor (the same updates for SGD, since the groups never mix); (3) initialisation draws differ. "
             "A run that removes (1): train DE(4) with one shared generator for all members' batches (a change to "
             "`fit`'s per-member generator), or, equivalently, compare PE(4,4,1) with a DE whose members are given "
             "the same data seed. The cell checks what is already equal.",
          """de4, pe4x = build("lenet", "deep", num_estimators=4), build("lenet", "packed", alpha=4, num_estimators=4)
print("params DE(4) vs PE(4,4,1):", count_params(de4), count_params(pe4x))
assert count_params(de4) == count_params(pe4x)"""),
    ),
}


del S


def exercise_numbers(notebook: dict) -> list[int]:
    """The numbers of the exercises listed under a notebook's ``## Exercises`` heading."""
    import re

    for cell in notebook["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and "## Exercises" in text:
            listed = text.split("## Exercises", 1)[1]
            return [int(n) for n in re.findall(r"^(\d+)\. ", listed, flags=re.MULTILINE)]
    return []


def _cell(kind: str, text: str, cell_id: str) -> dict:
    lines = text.split("\n")
    cell = {"cell_type": kind, "id": cell_id, "metadata": {"tags": [SOLUTION_TAG]},
            "source": [line + "\n" for line in lines[:-1]] + [lines[-1]]}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def fill(notebook: dict, name: str) -> dict:
    """A copy of ``notebook`` (nbformat JSON) with its Solutions section appended; ``name`` is its stem."""
    solutions = SOLUTIONS.get(name)
    if solutions is None:
        raise KeyError(f"no solutions for notebook {name!r}; known: {', '.join(SOLUTIONS)}")
    listed = exercise_numbers(notebook)
    if [s.exercise for s in solutions] != listed:
        raise ValueError(f"{name}: the notebook lists exercises {listed} but the solutions answer "
                         f"{[s.exercise for s in solutions]}; update pe_lab/solutions.py")
    added = [cell.get("id") for cell in notebook["cells"]
             if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []) or cell.get("id") == "solutions"]
    if added:
        raise ValueError(f"{name} already has a Solutions section (cells {', '.join(map(str, added[:3]))}): it is a "
                         "filled copy; fill the student notebook instead")
    filled = copy.deepcopy(notebook)
    cells = [_cell("markdown", "## Solutions (instructor copy)\n\nGenerated by `python -m pe_lab.solutions fill`; "
                               "each code cell runs after the notebook and checks its answer.", "solutions")]
    for solution in solutions:
        number = solution.exercise
        cells.append(_cell("markdown", f"**Exercise {number}.** {solution.answer}", f"solution-{number}"))
        if solution.code:
            cells.append(_cell("code", solution.code, f"solution-{number}-code"))
    filled["cells"] = filled["cells"] + cells
    return filled


def fill_folder(source: Path, out: Path) -> list[Path]:
    """Write the filled copy of every notebook in ``source`` that has solutions into ``out``.

    Refused before anything is written (``ValueError``): a ``source`` that is not a folder or holds no numbered
    notebook, an ``out`` that is ``source`` or inside it (the student notebooks would be overwritten with their
    solutions, or filled again on the next run), and a notebook that already has a Solutions section. Every copy is
    filled in memory first, then each is written atomically."""
    from ..config import atomic_save

    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise ValueError(f"--notebooks {source} is not a folder of notebooks")
    notebooks = sorted(source.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise ValueError(f"--notebooks {source} holds no numbered notebook (NN_name.ipynb)")
    inside = out.resolve() == source.resolve() or source.resolve() in out.resolve().parents
    if inside:
        raise ValueError(f"--out {out} is {'the' if out.resolve() == source.resolve() else 'inside the'} --notebooks "
                         f"folder {source}: the filled copies would replace or sit among the student notebooks; "
                         "write them elsewhere, e.g. --out runs/instructor")
    filled = {}
    for path in notebooks:
        try:
            notebook = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path} cannot be read as a notebook ({error})") from error
        if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
            raise ValueError(f"{path} is not a notebook (no cells)")
        filled[out / path.name] = fill(notebook, path.stem)
    for target, notebook in filled.items():
        atomic_save(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", target)
    return list(filled)
