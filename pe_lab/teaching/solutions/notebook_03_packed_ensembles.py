"""Solutions of notebooks/03_packed_ensembles.ipynb, one ``exercise_N`` per exercise (format: ``reading``)."""

import json

import torch
from torch import nn

from pe_lab import (
    PackedConv2d,
    PackedLinear,
    assets_dir,
    audit_members,
    build,
    check_pe_params,
    measure,
    pack,
    set_seed,
)

# bound by the notebook's cells: its quick mode, section 3's batch of images and its QuietPE
QUICK = images = QuietPE = ...


def exercise_1():
    r"""A hidden layer has $\alpha C_j \cdot \alpha C_{j-1} / (M\gamma) \cdot k^2$ weights (each of the $\alpha C_j$
    output channels reads the $\alpha C_{j-1}/(M\gamma)$ inputs of its group): $256 \cdot 128 / 8 \cdot 9 =
    36{,}864$."""
    def pe_weights(c_in, c_out, k, alpha, num_estimators, gamma):
        return alpha * c_out * alpha * c_in / (num_estimators * gamma) * k * k
    verdict = check_pe_params(pe_weights, in_channels=64, out_channels=128, kernel_size=3, alpha=2, num_estimators=4,
                              gamma=2)
    assert verdict, verdict
    layer = PackedConv2d(64, 128, 3, alpha=2, num_estimators=4, gamma=2, bias=False)
    assert pe_weights(64, 128, 3, 2, 4, 2) == layer.weight.numel() == 36_864


def exercise_2():
    r"""With $\gamma = 1$ a hidden layer has $\alpha^2/M$ of the base layer's weights, a DE $M$ times them:
    $\alpha^2/M = M$ gives $\alpha = M = 4$. `pack` of four plain networks builds exactly PE(4, 4, 1): a Deep
    Ensemble *is* a PE with $\alpha = M$, so it has the DE's parameters, and computes the same logits."""
    members4 = [build("resnet20", "single").eval() for _ in range(4)]
    packed4 = pack(members4).eval()
    with torch.no_grad():
        same = torch.allclose(packed4(images), torch.stack([m(images)[:, 0] for m in members4], 1), atol=1e-4)
    params = sum(p.numel() for p in packed4.parameters()), sum(p.numel() for m in members4 for p in m.parameters())
    print("PE(alpha, M, gamma) =", (packed4.spec.alpha, packed4.spec.num_estimators, packed4.spec.gamma),
          "| params PE vs DE:", params, "| same logits:", same)
    assert packed4.spec.alpha == 4 and params[0] == params[1] and same


def exercise_3():
    r"""The second layer (16 -> 32 at $\alpha = 2$: 32 inputs) is the first to refuse: 32 channels do not split into
    $M\gamma = 12$ groups, and the error names that rule. Every layer builds when $4\gamma$ divides both 32 and 64
    (and the head's $M = 4$ groups are always fine): $\gamma \in \{1, 2, 4, 8\}$."""
    def tiny(gamma):
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
    assert builds == [1, 2, 4, 8]


def exercise_4():
    r"""In the committed benchmarks it is, with a caveat: one benchmark per network gives a ratio without an
    interval, so this is an observation, not a tested finding. The cell groups the committed CPU benchmarks
    (`assets/results/bench-*.json`) by what moves a timing besides the network (batch size, compilation, memory
    layout, PE shape, machine), prints every PE/Single train-step ratio under its group with the commit and date
    that made it, and compares ResNet-18 with ResNet-20 only inside a group: there ResNet-18's ratio is the
    smaller (asserted), although both FLOPs ratios are within 2 % of 1 (asserted). Where the two of a group were
    made on different dates or commits (printed), they are only as alike as the grouping says. A benchmark alone
    in its group, such as one at another batch size, is printed but not compared: the ratio moves with the batch
    size too. Grouped convolutions with many channels per group do more arithmetic per byte moved and per kernel
    launched; with 8 channels per group (ResNet-20's first stage: $\alpha C_j/(M\gamma) = 32/4$) fixed overheads
    weigh more. The cell also measures the exercise's setting now, both networks at batch 16 (single and packed
    only, so that ResNet-18 fits Binder's 2 GB; in QUICK mode ResNet-20 alone, a smoke test): a benchmark, not a
    test, since a busy machine moves it."""
    groups = {}  # what a timing depends on besides the network -> model -> (file, train-step ratio, FLOPs ratio)
    for path in sorted((assets_dir() / "results").glob("bench-*.json")):
        bench = json.loads(path.read_text())
        config, cost = bench["config"], {c["name"]: c for c in bench["costs"]}
        if config["device"] != "cpu" or not {"single", "packed"} <= cost.keys():
            continue
        setting = (f"batch {config['batch']}", config.get("compile") or "eager",
                   "contiguous" if config["no_channels_last"] else "channels-last",
                   f"PE({config['alpha']:g},{config['num_estimators']},{config['gamma']})",
                   bench["provenance"]["hardware"])
        made = f"commit {bench['provenance']['git_commit'][:10]}, {bench['provenance']['date'][:10]}"
        groups.setdefault(setting, {})[config["model"]] = (
            f"{path.name}, {made}", cost["packed"]["train_step_ms"] / cost["single"]["train_step_ms"],
            cost["packed"]["flops"] / cost["single"]["flops"])
    for setting, models in groups.items():
        print("committed,", ", ".join(setting) + ":")
        for model, (name, step, flops) in sorted(models.items()):
            print(f"  {model} ({name}): PE/Single train step {step:.2f}x, FLOPs {flops:.3f}x")
            assert abs(flops - 1) < 0.02
    alike = [models for models in groups.values() if {"resnet18", "resnet20"} <= models.keys()]
    assert alike, "no committed ResNet-18 and ResNet-20 benchmarks measured alike"
    assert all(models["resnet18"][1] < models["resnet20"][1] for models in alike)
    for model in ("resnet20",) if QUICK else ("resnet18", "resnet20"):
        now = measure(model, batch_size=16, repeats=2 if QUICK else 5, warmup=1 if QUICK else 2, device="cpu",
                      contenders=("single", "packed"))
        print(f"measured now, {model} at batch 16: PE/Single train step "
              f"{now[1].train_step_ms / now[0].train_step_ms:.2f}x (a benchmark, not a test)")


def exercise_5():
    r"""A `GroupNorm` normalises each sample over the channels of one group, in either mode (it keeps no running
    statistics). With one group over all $\alpha C_j = 16$ channels it mixes the two members in both modes, as
    torch-uncertainty's non-first `PackedLayerNorm` does; with `num_groups` a multiple of $M$ (here 2) every group
    lies inside one member's channel block, so the members stay apart. A `BatchNorm2d(16)` over the packed channels
    normalises each channel on its own (each channel belongs to one member), so it is independent in both modes too;
    what mixed members in `QuietPE` was a BatchNorm over the member-major *batch*. The cell audits the three
    (asserted)."""
    verdicts = {}
    for name, norm in (("GroupNorm(1, 16)", nn.GroupNorm(1, 16)), ("GroupNorm(2, 16)", nn.GroupNorm(2, 16)),
                       ("BatchNorm2d(16)", nn.BatchNorm2d(16))):
        set_seed(0)
        model = QuietPE()
        model.features[3] = norm
        verdicts[name] = audit_members(model, num_estimators=2, input_shape=(4, 3, 16, 16)).independent
        print(f"{name}: {'independent' if verdicts[name] else 'mixes members'} (eval and train audited)")
    assert verdicts == {"GroupNorm(1, 16)": False, "GroupNorm(2, 16)": True, "BatchNorm2d(16)": True}
