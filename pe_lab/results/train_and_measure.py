"""Train and measure: train a built model, evaluate it on test and OOD data, and record it as a report does.

``compare_methods`` is the notebooks' version of ``pe-lab experiment`` (one seed, in memory);
``evaluate_run`` is what both record for a trained model.
"""

from __future__ import annotations

import time

import torch

from ..config import set_seed
from ..data.images import ImageSet, dataset_name, subset
from ..evaluation.metrics import OOD_CRITERIA, evaluate_predictions
from ..evaluation.prediction import predict_member_probs
from ..methods.registry import METHODS, build
from ..runtime import get_device
from ..training.checkpoint import data_fingerprint
from ..training.loop import fit
from .provenance import provenance
from .records import DataRecord, Provenance, Report, Run
from .tables import summarise

__all__ = ["compare_methods", "evaluate_run", "make_provenance", "unscored_ood_criteria"]


def _timed_predictions(model: torch.nn.Module, data: ImageSet, device: torch.device) -> tuple[torch.Tensor, float]:
    """Member probabilities on ``data`` and the images per second it took (eval, batch 500, after a warm-up)."""
    if isinstance(data, ImageSet):  # a streamed folder's first batch is its own warm-up
        predict_member_probs(model, subset(data, 10), device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    member_probs = predict_member_probs(model, data, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return member_probs, len(data) / (time.perf_counter() - start)


def make_provenance(train: ImageSet, test: ImageSet, ood: ImageSet | None, device: torch.device, seeds: list[int],
                    command: str) -> Provenance:
    """Where a result came from: command, data (by name and fingerprint, never by a path of this machine),
    machine, versions, commit, seeds, date."""
    sets = {"train": train, "test": test, "ood": ood}
    data = DataRecord(train=dataset_name(train.source), num_train=len(train), test=dataset_name(test.source),
                      num_test=len(test), ood=dataset_name(ood.source) if ood is not None else None,
                      num_ood=len(ood) if ood is not None else 0, synthetic=train.synthetic,
                      fingerprints={name: data_fingerprint(part)["digest"] for name, part in sets.items()
                                    if part is not None})
    return Provenance(**provenance(command, device, data=data, seeds=tuple(seeds)))


def evaluate_run(method: str, seed: int, model: torch.nn.Module, history, test: ImageSet, ood: ImageSet | None,
                 device: torch.device, num_bins: int = 15) -> tuple[Run, torch.Tensor, torch.Tensor | None]:
    """Measure a trained model: the run's record, and its member probabilities on test and OOD data."""
    member_probs, images_per_second = _timed_predictions(model, test, device)
    ood_probs = predict_member_probs(model, ood, device=device) if ood is not None else None
    metrics = evaluate_predictions(member_probs, test.labels.cpu(), ood_probs, num_bins=num_bins)
    if ood_probs is not None:
        unscored = unscored_ood_criteria(metrics, member_probs.shape[1])
        if unscored:
            metrics["ood_unscored"] = unscored
    run = Run(method=method, seed=seed, metrics=metrics, spec=model.spec.to_dict(),
              params=sum(p.numel() for p in model.parameters()), train_seconds=history.train_seconds,
              history=history.to_dict(), test_images_per_second=images_per_second)
    return run, member_probs, ood_probs


def unscored_ood_criteria(metrics: dict, members: int) -> dict[str, str]:
    """Why each OOD criterion is missing from ``metrics["ood"]``: its score was the same for every test and OOD
    image, so there is no ranking to score. For one member the member criteria (mutual information, variation
    ratio) are always 0 (nothing to note); a missing MSP or entropy is a model that answers alike whatever the image
    (a collapsed run), and the report says so instead of silently dropping its OOD numbers."""
    scored = metrics.get("ood", {})
    notes = {}
    for criterion, entry in OOD_CRITERIA.items():
        if criterion in scored or (members == 1 and entry.needs_members):
            continue
        cause = ("the members agree on every image" if entry.needs_members
                 else "a collapsed model: its prediction does not depend on the image")
        notes[criterion] = f"not scored: the score is the same for every test and OOD image ({cause})"
    return notes


def compare_methods(model_name: str, train: ImageSet, test: ImageSet, ood: ImageSet | None, *,
                    methods: tuple[str, ...] = tuple(METHODS), alpha: float = 2,
                    num_estimators: int = 4, gamma: int = 1, epochs: int = 3, batch_size: int = 128,
                    lr: float = 0.1, seed: int = 0, device: str | torch.device = "auto",
                    progress: bool = True) -> tuple[Report, dict[str, dict]]:
    """Train and measure each method once (one seed): the notebooks' version of the CLI.

    Returns ``(report, predictions)``: the report is the record the CLI writes (``format_table`` prints it),
    ``predictions[method]`` holds member probabilities on test and OOD data and the labels.
    """
    device = get_device(device)
    runs, predictions = [], {}
    for method in methods:
        set_seed(seed)
        model = build(model_name, method, alpha=alpha, num_estimators=num_estimators, gamma=gamma,
                      num_classes=len(train.classes))
        history = fit(model, train, test, epochs=epochs, batch_size=batch_size, lr=lr, device=device, seed=seed,
                      progress=progress)
        run, member_probs, ood_probs = evaluate_run(method, seed, model, history, test, ood, device)
        runs.append(run)
        predictions[method] = {"test": member_probs, "test_labels": test.labels.cpu(), "ood": ood_probs,
                               "classes": list(test.classes)}
    command = (f"pe_lab.compare_methods({model_name!r}, methods={methods}, alpha={alpha}, "
               f"num_estimators={num_estimators}, gamma={gamma}, epochs={epochs}, seed={seed})")
    report = Report(make_provenance(train, test, ood, device, [seed], command), runs=runs, summary=summarise(runs))
    return report, predictions
