"""Distribution shift and far-OOD data that pe-lab generates itself, offline and seeded.

* ``corrupt``: corruptions **in the style of** CIFAR-10-C (Hendrycks & Dietterich, 2019): 11 types x 5
  severities, written with torch ops on uint8 images. They are *not* the official CIFAR-10-C files and their
  numbers are not comparable with published CIFAR-10-C results; they show how each method degrades as the
  test images drift away from the training distribution.
* ``synthetic_textures``: procedural textures (stripes, checkerboards, gratings, dots, smooth noise) as a
  far-OOD set in the spirit of the paper's Texture (DTD) experiment. It is **not** DTD; its ``source`` says so.

Images are ``(N, 3, H, W)`` uint8 throughout, as in ``pe_lab.data``.
"""

from __future__ import annotations

import re

from ..data.corruptions import CORRUPTIONS, SEVERITIES, synthetic_textures
from ..evaluation.shift import shift_metrics
from ..validate import check_choice
from .arguments import MAX_SEED, Rule, apply_rules
from .boundary import command

__all__ = ["main"]

_RULES = {"seed": Rule("--seed", True, 0, MAX_SEED), "test_per_class": Rule("--test-per-class", True, 1, 10**6),
          "textures": Rule("--textures", True, 1, 10**6)}


def _source_kind(source: str) -> str:
    """``"image folder /a/b/cifar10-jpeg/test (subset: 100 per class)"`` -> ``"cifar10-jpeg/test"``: which data,
    wherever it lies and however much of it was taken."""
    source = re.sub(r"\s*\(subset: [^)]*\)\s*$", "", str(source))
    words = source.replace("\\", "/").rstrip("/").split("/")
    return "/".join(words[-2:])


def _check_checkpoint(run: dict, report: dict, path, state: dict, report_path) -> None:
    """Refuse a checkpoint that is not the one the report's run finished with: another file at the recorded path
    (the report records its SHA-256), or, for reports written before that, a checkpoint whose recipe or epoch is not
    the report's. ``CheckpointError`` names both."""
    from ..training.checkpoint import CheckpointError, checkpoint_digest, first_difference, migrated_identity

    label = f"the {run['method']} seed {run['seed']} run of {report_path}"
    recorded = run.get("checkpoint_sha256")
    if recorded:
        found = checkpoint_digest(path)
        if found != recorded:
            raise CheckpointError(
                f"checkpoint {path} is not the one {label} finished with (sha256 {recorded[:16]}... recorded, "
                f"{found[:16]}... found, epoch {state.get('epoch')} of "
                f"{(migrated_identity(state.get('identity')) or {}).get('recipe', {}).get('epochs', '?')}): a later "
                "run wrote another at that path. Retrain with the report's command, or pass the report of the run "
                "that wrote it")
        return
    stored = (migrated_identity(state.get("identity")) or {}).get("recipe")
    wanted = (report.get("identity") or {}).get("recipe")
    if stored and wanted:
        difference = first_difference({k: v for k, v in stored.items() if k != "seed"}, wanted, "recipe")
        if difference:
            raise CheckpointError(f"checkpoint {path} was made with other settings than {label} ({difference}): "
                                  "a later run wrote another at that path")
    epochs = (wanted or stored or {}).get("epochs")
    if epochs is not None and state.get("epoch") != epochs:
        raise CheckpointError(f"checkpoint {path} holds epoch {state.get('epoch')}, but {label} trained "
                              f"{epochs} epochs: it is not that run's final checkpoint")


def _checkpoint_of(run: dict, args, report: dict, method: str, seed: int):
    """Where a run's final checkpoint is: ``--runs-dir`` if given, else what the report records; for reports
    written before runs recorded it, the experiment's naming rule with the ``--runs-dir`` of the report's own
    command (default ``runs``)."""
    from pathlib import Path
    from types import SimpleNamespace

    from ..results.report import checkpoint_path

    if run.get("checkpoint") and not args.runs_dir:
        return Path(run["checkpoint"])
    words = report["provenance"]["command"].split()
    runs_dir = args.runs_dir or (words[words.index("--runs-dir") + 1] if "--runs-dir" in words[:-1] else "runs")
    return checkpoint_path(SimpleNamespace(out=str(args.report), runs_dir=runs_dir), method, seed)


def _parser():
    import argparse
    from pathlib import Path

    p = argparse.ArgumentParser(prog="python -m pe_lab.shift", description=main.__doc__.splitlines()[0])
    p.add_argument("--report", type=Path, required=True)
    p.add_argument("--runs-dir", default=None, help="the runs' checkpoints (default: the report's command's)")
    p.add_argument("--methods", default=None, help="comma-separated (default: every method of the report)")
    p.add_argument("--seed", type=int, default=None, help="which seed's runs (default: the report's first)")
    p.add_argument("--corruptions", default=",".join(CORRUPTIONS))
    p.add_argument("--severities", default="1,2,3,4,5")
    p.add_argument("--test-per-class", type=int, default=100, help="balanced test subset per corruption")
    p.add_argument("--textures", type=int, default=2000, help="synthetic texture images (far OOD)")
    p.add_argument("--cifar10c", type=Path, default=None,
                   help="a folder of the official CIFAR-10-C files (<corruption>.npy, labels.npy): evaluated too")
    p.add_argument("--texture-folder", type=Path, default=None,
                   help="far-OOD images from a folder (e.g. DTD's images/) instead of the procedural textures")
    p.add_argument("--data", default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, default=None)
    return apply_rules(p, _RULES)


def _validated(args) -> tuple[dict, list[str], list[int], int, list[str]]:
    """``(report, corruptions, severities, seed, methods)`` from the command line, or a ``ValueError`` naming
    the option and its rule."""
    from ..results.report import read_report

    corruptions = [c.strip() for c in args.corruptions.split(",") if c.strip()]
    for name in corruptions:
        check_choice("corruption", name, CORRUPTIONS)
    try:
        severities = [int(s) for s in args.severities.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--severities must be comma-separated integers in {list(SEVERITIES)}, got "
                         f"{args.severities!r}") from None
    for severity in severities:
        check_choice("severity", severity, SEVERITIES)
    if not corruptions or not severities:
        raise ValueError("--corruptions and --severities must each name at least one")
    report = read_report(args.report)  # after the options' own rules: a bad option is named first
    seed = args.seed if args.seed is not None else report["provenance"]["seeds"][0]
    available = sorted({r["method"] for r in report["runs"] if r["seed"] == seed})
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods is not None else available
    if not methods:
        raise ValueError(f"--methods names no method; the report has runs of {', '.join(available) or 'none'}")
    for method in methods:
        check_choice(f"method (runs of seed {seed} in {args.report})", method, available)
    return report, corruptions, severities, seed, methods


def _evaluate(model, test, far_sets: dict, *, corruptions, severities, official, args, device) -> dict:
    """One trained model under the generated shifts, on the far-OOD sets, and on the official files if given."""
    from ..evaluation.metrics import ood_metrics, ood_score
    from ..evaluation.prediction import predict_member_probs
    from ..evaluation.shift import official_shift_metrics

    member_test = predict_member_probs(model, test, device=device)
    criteria = ("msp", "entropy", "mutual_information") if member_test.shape[1] > 1 else ("msp", "entropy")
    far = {}
    for name, ood in far_sets.items():
        member_ood = predict_member_probs(model, ood, device=device)
        far[name] = {c: ood_metrics(ood_score(member_test, c), ood_score(member_ood, c)) for c in criteria}
    result = {"shift": shift_metrics(model, test, corruptions=corruptions, severities=severities, device=device),
              "far_ood": far}
    if official is not None:  # the official files, beside the generated ones: each says what it is
        result["cifar10c"] = official_shift_metrics(model, args.cifar10c, corruptions=official,
                                                    severities=severities, per_class=args.test_per_class,
                                                    device=device)
    return result


def _note(args, textures) -> str:
    """What the evaluation's sets are, in words: generated or official, procedural textures or a folder."""
    return ("corruptions in the style of CIFAR-10-C, generated by pe-lab (not the official files)"
            + (f"; the official CIFAR-10-C files of {args.cifar10c} under each method's cifar10c"
               if args.cifar10c else "")
            + (f"; far-OOD textures: {textures.source}" if args.texture_folder
               else "; far-OOD textures: procedural, generated by pe-lab (not DTD)"))


@command("shift")
def _trained_model(p, args, report: dict, run: dict, method: str, seed: int):
    """The run's model with its final checkpoint's weights, or exit 1 naming what does not fit."""
    from ..methods.registry import build_from_spec
    from ..training.checkpoint import CheckpointError, load_checkpoint

    try:
        model = build_from_spec(run["spec"])
    except (ValueError, TypeError, KeyError) as error:
        p.exit(1, f"{p.prog}: error: {args.report}: the spec of the {method} seed {seed} run cannot be built "
                  f"({error})\n")
    path = _checkpoint_of(run, args, report, method, seed)
    try:
        state = load_checkpoint(path)
        _check_checkpoint(run, report, path, state, args.report)
        model.load_state_dict(state["model"])
    except (CheckpointError, FileNotFoundError) as error:
        p.exit(1, f"{p.prog}: error: {error}\n")
    except RuntimeError as error:  # weights of another shape than the report's spec
        p.exit(1, f"{p.prog}: error: checkpoint {path} does not fit the {method} spec of {args.report} "
                  f"({str(error).splitlines()[0]})\n")
    return model


def main(argv: list[str] | None = None) -> dict:
    """``python -m pe_lab.shift --report R.json``: evaluate the trained runs of a report (their final checkpoints)
    under the generated corruptions and on the synthetic textures, and write ``R-shift.json``."""
    import json
    import sys

    from ..config import atomic_save, get_device
    from ..data.benchmarks import cifar10c_corruptions, load_texture_folder
    from ..data.images import DataError, load_cifar10, load_svhn, subset
    from ..results.runs import make_provenance

    p = _parser()
    args = p.parse_args(argv)
    try:
        report, corruptions, severities, seed, methods = _validated(args)
        device = get_device(args.device)
    except (ValueError, TypeError) as error:
        p.error(str(error))
    trained_on = report["provenance"]["data"]
    if trained_on.get("synthetic"):
        p.exit(1, f"{p.prog}: error: the runs in {args.report} were trained on synthetic data "
                  f"({trained_on.get('train')}); scoring them on CIFAR-10 measures nothing. Evaluate a report "
                  "trained on CIFAR-10.\n")
    try:
        full_test = load_cifar10("test", args.data, download=False)
        test = subset(full_test, args.test_per_class)
        svhn = subset(load_svhn(args.data, download=False), args.test_per_class)
        textures = (load_texture_folder(args.texture_folder, limit=args.textures) if args.texture_folder
                    else synthetic_textures(args.textures))
        official = cifar10c_corruptions(args.cifar10c) if args.cifar10c else None
    except (DataError, FileNotFoundError) as error:
        p.exit(1, f"{p.prog}: error: {error}\n")
    if _source_kind(full_test.source) != _source_kind(trained_on.get("test", "")):
        print(f"warning: the runs were tested on {trained_on.get('test')}; this evaluation reads {full_test.source}",
              file=sys.stderr)
    results = {}
    for method in methods:
        run = next(r for r in report["runs"] if r["method"] == method and r["seed"] == seed)
        model = _trained_model(p, args, report, run, method, seed)
        results[method] = {"spec": run["spec"], **_evaluate(
            model, test, {"svhn": svhn, "textures": textures}, corruptions=corruptions, severities=severities,
            official=official, args=args, device=device)}
        print(f"[{method}] clean acc {results[method]['shift'][corruptions[0]][0]['accuracy']:.3f}; "
              f"textures AUROC (msp) {results[method]['far_ood']['textures']['msp']['auroc']:.3f}", flush=True)
    words = argv if argv is not None else sys.argv[1:]
    provenance = make_provenance(test, test, textures, device, [seed], "python -m pe_lab.shift " + " ".join(words))
    provenance["note"] = _note(args, textures)
    out = args.out or args.report.with_name(args.report.stem + "-shift.json")
    result = {"provenance": provenance, "report": str(args.report), "results": results}
    atomic_save(json.dumps(result, indent=1), out)
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
