"""torch-uncertainty's CIFAR-10 Packed-Ensembles tutorial, trained as its code trains, in two versions.

``TUTORIALS`` holds each version's recipe as its source file wrote it (file and commit named); ``train_tutorial``
runs that loop: ``ToTensor`` + ``Normalize(0.5, 0.5)``, no augmentation, shuffled batches, SGD with plain momentum,
a constant learning rate, and ``CrossEntropyLoss()(outputs, labels.repeat(M))`` on the ``((m b), K)`` outputs. The
Single and the DE(M) beside the PE use the same loop and loss (a DE's members each get 1 / M of the mean loss, as
the PE's do). ``evaluate_tutorial`` measures what the tutorial never printed: accuracy, NLL, ECE, Brier, OOD
AUROC on SVHN, and for the tutorial's 40-logit head, the probability mass on the classes that never occur.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from einops import rearrange

from ..data.images import ImageSet, normalize
from ..evaluation.metrics import evaluate_predictions
from ..nn.tutorial import tutorial_network
from .report_files import predictions_beside

__all__ = ["TUTORIALS", "TutorialRecipe", "evaluate_tutorial", "impossible_mass", "train_tutorial"]

_HALF = (0.5, 0.5, 0.5)  # the tutorial's transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


@dataclass(frozen=True)
class TutorialRecipe:
    """One version of the tutorial's training cell."""

    version: str
    source: str  # file and commit of torch-uncertainty that wrote it
    epochs: int
    batch_size: int
    lr: float
    momentum: float = 0.9
    log_every: int = 2000  # mini-batches between the running losses the tutorial prints


TUTORIALS = {
    "2024-02": TutorialRecipe("2024-02", "auto_tutorials_source/tutorial_pe_cifar10.py at torch-uncertainty "
                              "a8c71d87 (2024-02-19): batch_size = 4, SGD(lr=0.001, momentum=0.9), range(2), a "
                              "running loss every 2000 mini-batches",
                              epochs=2, batch_size=4, lr=0.001),
    "2025-03": TutorialRecipe("2025-03", "auto_tutorials_source/Classification/tutorial_pe_cifar10.py from "
                              "torch-uncertainty 1ae8b67a (2025-03-22; auto_tutorial_source/Classification/ at "
                              "0d0df2b2, 2026-01-28, same recipe): BATCH_SIZE = 256, SGD(lr=0.2, momentum=0.9), "
                              "MAX_EPOCHS = 3, a running loss every 20 mini-batches",
                              epochs=3, batch_size=256, lr=0.2, log_every=20),
}


def impossible_mass(member_probs: torch.Tensor, num_classes: int) -> float:
    """Mean probability the ensemble puts on outputs ``>= num_classes`` (classes that never occur)."""
    return float(member_probs.double().mean(1)[:, num_classes:].sum(1).mean())


def train_tutorial(model: torch.nn.Module, train: ImageSet, recipe: TutorialRecipe, seed: int,
                   log_every: int | None = None) -> dict:
    """Train ``model`` (logits ``(B, M, K)``) with the tutorial's loop. Returns the running losses the tutorial
    prints (mean over ``log_every`` mini-batches, the recipe's by default) and the training time. ``seed`` fixes
    the shuffle."""
    log_every = recipe.log_every if log_every is None else log_every
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum)
    losses, running, start = [], 0.0, time.perf_counter()
    model.train()
    for epoch in range(recipe.epochs):
        order = torch.randperm(len(train), generator=generator)
        for step, first in enumerate(range(0, len(train), recipe.batch_size)):
            index = order[first:first + recipe.batch_size]
            images, labels = normalize(train.images[index], _HALF, _HALF), train.labels[index]
            optimizer.zero_grad()
            logits = model(images)
            members = logits.shape[1]
            loss = F.cross_entropy(rearrange(logits, "b m k -> (m b) k"), labels.repeat(members))
            loss.backward()
            optimizer.step()
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"the tutorial's loss became {loss.item()} at epoch {epoch + 1}, "
                                         f"step {step + 1}")
            running += loss.item()
            if (step + 1) % log_every == 0:
                losses.append({"epoch": epoch + 1, "step": step + 1, "loss": running / log_every})
                running = 0.0
    return {"losses": losses, "train_seconds": time.perf_counter() - start}


@torch.no_grad()
def member_probabilities(model: torch.nn.Module, data: ImageSet, batch_size: int = 1000) -> torch.Tensor:
    """Softmax of every member's logits, ``(N, M, K)``, as the tutorial's test cell computes them."""
    model.eval()
    chunks = [F.softmax(model(normalize(data.images[i:i + batch_size], _HALF, _HALF)).double(), dim=-1)
              for i in range(0, len(data), batch_size)]
    return torch.cat(chunks)


def evaluate_tutorial(model: torch.nn.Module, test: ImageSet, ood: ImageSet | None) -> tuple[dict, torch.Tensor]:
    """The report's numbers for a trained tutorial network, and its test member probabilities."""
    probs = member_probabilities(model, test)
    ood_probs = member_probabilities(model, ood) if ood is not None else None
    metrics = evaluate_predictions(probs, test.labels, ood_probs, criteria=("msp",))
    num_classes = len(test.classes)
    metrics["impossible_mass"] = impossible_mass(probs, num_classes)
    metrics["predicted_impossible"] = float((probs.mean(1).argmax(1) >= num_classes).double().mean())
    if ood_probs is not None:
        metrics["ood_impossible_mass"] = impossible_mass(ood_probs, num_classes)
    metrics["logits_per_member"] = int(probs.shape[2])
    metrics["params"] = sum(p.numel() for p in model.parameters())
    return metrics, probs


def run_tutorial(network: str, recipe: TutorialRecipe, seed: int, train: ImageSet, test: ImageSet,
                 ood: ImageSet | None, layers: str = "pe-lab",
                 log_every: int | None = None) -> tuple[dict, torch.Tensor]:
    """One network of the comparison (``packed-seed-head``, ``packed-class-head``, ``single``, ``deep``) trained
    with ``recipe`` from ``seed``; the initial draws come from the same seed (the shared layers of the two packed
    heads start equal)."""
    kinds = {"packed-seed-head": ("packed", "seed"), "packed-class-head": ("packed", "classes"),
             "single": ("single", "classes"), "deep": ("deep", "classes")}
    if network not in kinds:
        raise ValueError(f"network must be one of {', '.join(kinds)}, got {network!r}")
    kind, head = kinds[network]
    torch.manual_seed(seed)
    model = tutorial_network(kind, head=head, layers=layers if kind == "packed" else "pe-lab",
                             num_classes=len(train.classes))
    trained = train_tutorial(model, train, recipe, seed, log_every)
    metrics, probs = evaluate_tutorial(model, test, ood)
    return {"network": network, "layers": layers if kind == "packed" else "pe-lab", "seed": seed,
            "recipe": asdict(recipe), **trained, "metrics": metrics}, probs


# --------------------------------------------------------------------------------------------- reading a report

_NAMES = {"packed-seed-head": "PE(2,4,1), the tutorial's head (40 logits per member)",
          "packed-class-head": "PE(2,4,1), one logit per class (10 per member)",
          "single": "Single (the tutorial's Net)", "deep": "DE(4) of Nets"}
_SHORT = {"packed-seed-head": "the 40-logit PE", "packed-class-head": "the 10-logit PE", "single": "the Single",
          "deep": "the DE(4)"}
# Compared between networks: the metrics every network has. The mass on impossible classes is zero by construction
# for a head with one logit per class, so it is a table column, not a comparison.
_COMPARED = ("accuracy", "nll", "ece", "msp_auroc")
_COLUMNS = (("accuracy", "Acc (%)", 100, 1), ("nll", "NLL", 1, 3), ("ece", "ECE", 1, 3),
            ("impossible_mass", "mass on impossible classes (%)", 100, 2), ("msp_auroc", "SVHN AUROC msp (%)", 100, 1))


def _value(run: dict, key: str) -> float:
    metrics = run["metrics"]
    if key == "msp_auroc":
        return metrics["ood"]["msp"]["auroc"]
    return metrics[key]


def runs_by_network(report: dict) -> dict[str, dict[int, dict]]:
    """``{network: {seed: run}}`` in the order the runs were made."""
    grouped: dict[str, dict[int, dict]] = {}
    for run in report["runs"]:
        grouped.setdefault(run["network"], {})[run["seed"]] = run
    return grouped


def tutorial_table(report: dict) -> str:
    """A Markdown table: every network of a tutorial report, each metric as mean ± std over its seeds, the
    parameters, the first running loss the tutorial prints, training seconds, seeds."""
    heads = ["Network", "Params"] + [head for _, head, _, _ in _COLUMNS] + ["first printed loss", "Train s", "Seeds"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for network, runs in runs_by_network(report).items():
        seeds = sorted(runs)
        first = runs[seeds[0]]
        cells = [_NAMES.get(network, network), f"{first['metrics']['params']:,}"]
        for key, _, scale, digits in _COLUMNS:
            values = torch.tensor([_value(runs[s], key) for s in seeds], dtype=torch.float64) * scale
            spread = f" ± {values.std():.{digits}f}" if len(values) > 1 else ""
            cells.append(f"{values.mean():.{digits}f}{spread}")
        losses = [runs[s]["losses"][0]["loss"] for s in seeds if runs[s]["losses"]]
        cells.append(f"{sum(losses) / len(losses):.3f}" if losses else "n/a")
        cells.append(f"{sum(runs[s]['train_seconds'] for s in seeds) / len(seeds):.0f}")
        cells.append(",".join(map(str, seeds)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare_networks(report: dict, first: str, second: str) -> str:
    """Markdown bullets: ``first`` against ``second`` on every metric, paired by seed (the same seed gives both
    runs the same data order and the same initial draws of the layers they share)."""
    from ..evaluation.verdict import compare

    runs = runs_by_network(report)
    seeds = sorted(set(runs.get(first, {})) & set(runs.get(second, {})))
    if not seeds:
        raise ValueError(f"no seed has both {first!r} and {second!r}; networks: {', '.join(runs)}")
    lines = []
    for key, head, scale, digits in _COLUMNS:
        if key not in _COMPARED:
            continue
        result = compare([_value(runs[first][s], key) for s in seeds], [_value(runs[second][s], key) for s in seeds],
                         paired=True)
        lower_is_better = key in ("nll", "ece")
        lines.append(f"* {head}: " + result.sentence(_SHORT.get(first, first), _SHORT.get(second, second),
                                                     higher_is_better=not lower_is_better, scale=scale,
                                                     digits=digits))
    return "\n".join(lines)


def prediction_differences(first_probs: torch.Tensor, second_probs: torch.Tensor, labels: torch.Tensor) -> dict:
    """Where two ensembles' predicted classes differ: the share of test images, and on those images how often
    each is right. Probabilities ``(N, M, K)`` (K may differ: the arg-max is over each one's own outputs)."""
    if first_probs.shape[0] != second_probs.shape[0] or first_probs.shape[0] != labels.shape[0]:
        raise ValueError(f"both predictions must cover the same {labels.shape[0]} images, got "
                         f"{first_probs.shape[0]} and {second_probs.shape[0]}")
    first_pred, second_pred = first_probs.mean(1).argmax(1), second_probs.mean(1).argmax(1)
    differ = first_pred != second_pred
    count = int(differ.sum())
    return {"images": int(labels.numel()), "differ": count, "differ_share": count / labels.numel(),
            "first_right": int((first_pred[differ] == labels[differ]).sum()),
            "second_right": int((second_pred[differ] == labels[differ]).sum())}


def _check_tutorial_report(report, path) -> dict:
    """The fields the readers use, each present and of its type; the error names the file and the field."""
    def need(mapping, key, kind, where):
        if not isinstance(mapping, dict) or key not in mapping or not isinstance(mapping[key], kind):
            raise ValueError(f"{path}: {where}{key} is missing or not a {getattr(kind, '__name__', kind)}")
        return mapping[key]

    need(need(report, "provenance", dict, ""), "seeds", list, "provenance.")
    need(report, "recipe", dict, "")
    for i, run in enumerate(need(report, "runs", list, "")):
        where = f"runs[{i}]."
        need(run, "network", str, where)
        need(run, "seed", int, where)
        need(run, "losses", list, where)
        need(run, "train_seconds", (int, float), where)
        metrics = need(run, "metrics", dict, where)
        for key in ("accuracy", "nll", "ece", "impossible_mass", "params"):
            need(metrics, key, (int, float), where + "metrics.")
    return report


def load_tutorial(version: str, networks: tuple[str, ...] = ()) -> tuple[dict, dict[str, dict]]:
    """The committed tutorial report ``assets/results/tutorial_<version>.json`` (validated) and the first seed's
    stored member probabilities of ``networks`` (``load_predictions`` format)."""
    import json

    from ..config import assets_dir

    if version not in TUTORIALS:
        raise ValueError(f"version must be one of {', '.join(TUTORIALS)}, got {version!r}")
    path = assets_dir() / "results" / f"tutorial_{version}.json"
    if not path.exists():
        raise FileNotFoundError(f"no tutorial report at {path}; run pe-lab tutorial --version {version}")
    try:
        report = _check_tutorial_report(json.loads(path.read_text()), path)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not JSON ({error})") from None
    seed = report["provenance"]["seeds"][0]
    return report, predictions_beside(path, seed, networks, _load_member_probabilities)


def _load_member_probabilities(path) -> dict:
    """Stored test member probabilities ``(N, M, K_head)`` (``weights_only=True``). Unlike an experiment's, the
    head may have more outputs than there are class names: the tutorial's has 10 * M."""
    try:
        stored = torch.load(path, weights_only=True)
    except Exception as error:  # truncated or not a torch file
        raise ValueError(f"{path} cannot be read ({type(error).__name__}); restore it (git checkout) or rerun "
                         "pe-lab tutorial") from error
    if not isinstance(stored, dict) or not all(key in stored for key in ("test", "test_labels", "classes")):
        raise ValueError(f"{path} is not a stored tutorial prediction (needs test, test_labels, classes)")
    test, labels, classes = stored["test"], stored["test_labels"], stored["classes"]
    if test.dim() != 3 or test.shape[0] != labels.shape[0] or test.shape[2] < len(classes):
        raise ValueError(f"{path}: test must be (N, M, K_head) with N = {labels.shape[0]} labels and K_head >= "
                         f"{len(classes)} classes, got {tuple(test.shape)}")
    return {"test": test.float(), "test_labels": labels, "classes": list(classes)}
