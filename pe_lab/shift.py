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

import math

import torch
import torch.nn.functional as F

from .data import ImageSet
from .validate import check_choice, check_int

__all__ = ["CORRUPTIONS", "SEVERITIES", "corrupt", "main", "shift_metrics", "shifted", "synthetic_textures"]

SEVERITIES = (1, 2, 3, 4, 5)


def _float(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 255


def _uint8(images: torch.Tensor) -> torch.Tensor:
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


def _blur(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    channels = x.shape[1]
    weight = kernel.to(x).expand(channels, 1, *kernel.shape)
    pad = (kernel.shape[1] // 2, kernel.shape[1] // 2, kernel.shape[0] // 2, kernel.shape[0] // 2)
    return F.conv2d(F.pad(x, pad, mode="reflect"), weight, groups=channels)


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(2 * sigma))
    grid = torch.arange(-radius, radius + 1, dtype=torch.float32)
    line = torch.exp(-grid ** 2 / (2 * sigma ** 2))
    kernel = line[:, None] * line[None, :]
    return kernel / kernel.sum()


def _gaussian_noise(x, level, g):
    return x + torch.randn(x.shape, generator=g) * (0.04, 0.06, 0.08, 0.09, 0.10)[level]


def _shot_noise(x, level, g):
    rate = (500, 250, 100, 75, 50)[level]
    return torch.poisson(x * rate, generator=g) / rate


def _impulse_noise(x, level, g):
    amount = (0.01, 0.02, 0.03, 0.05, 0.07)[level]
    u = torch.rand(x.shape, generator=g)
    return torch.where(u < amount / 2, 0.0, torch.where(u > 1 - amount / 2, 1.0, x))


def _gaussian_blur(x, level, g):
    return _blur(x, _gaussian_kernel((0.4, 0.6, 0.7, 0.8, 1.0)[level]))


def _motion_blur(x, level, g):
    length = (3, 5, 5, 7, 9)[level]
    kernel = torch.zeros(length, length)
    kernel[length // 2] = 1.0 / length           # horizontal streak
    return _blur(x, kernel)


def _contrast(x, level, g):
    factor = (0.75, 0.5, 0.4, 0.3, 0.15)[level]
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * factor + mean


def _brightness(x, level, g):
    return x + (0.05, 0.1, 0.15, 0.2, 0.3)[level]


def _saturate(x, level, g):
    factor = (0.3, 0.1, 2.0, 5.0, 20.0)[level]   # CIFAR-10-C's saturate also desaturates at low severities
    grey = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None]
    return grey + (x - grey) * factor


def _pixelate(x, level, g):
    size = x.shape[-1]
    small = max(1, round(size * (0.95, 0.9, 0.85, 0.75, 0.65)[level]))
    return F.interpolate(F.interpolate(x, size=small, mode="area"), size=x.shape[-2:], mode="nearest")


def _jpeg(x, level, g):
    import io

    import numpy as np
    from PIL import Image

    quality = (80, 65, 58, 50, 40)[level]
    out = []
    for image in _uint8(x):
        buffer = io.BytesIO()
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        out.append(torch.from_numpy(np.array(Image.open(buffer).convert("RGB"))).permute(2, 0, 1))
    return _float(torch.stack(out))


def _fog(x, level, g):
    strength = (0.2, 0.3, 0.4, 0.5, 0.6)[level]
    coarse = torch.rand(x.shape[0], 1, 4, 4, generator=g)
    haze = F.interpolate(coarse, size=x.shape[-2:], mode="bicubic", align_corners=False).clamp(0, 1)
    return x * (1 - strength) + haze * strength


CORRUPTIONS = {
    "gaussian_noise": _gaussian_noise, "shot_noise": _shot_noise, "impulse_noise": _impulse_noise,
    "gaussian_blur": _gaussian_blur, "motion_blur": _motion_blur, "contrast": _contrast,
    "brightness": _brightness, "saturate": _saturate, "pixelate": _pixelate, "jpeg_compression": _jpeg,
    "fog": _fog,
}


def corrupt(images: torch.Tensor, name: str, severity: int, *, seed: int = 0) -> torch.Tensor:
    """``images`` ``(N, 3, H, W)`` uint8 under corruption ``name`` at ``severity`` (1-5), uint8 out. Seeded:
    the same call gives the same images.

    >>> x = torch.full((2, 3, 8, 8), 128, dtype=torch.uint8)
    >>> corrupt(x, "brightness", 5).float().mean().item() > 128
    True
    """
    check_choice("corruption", name, CORRUPTIONS)
    check_choice("severity", severity, SEVERITIES)
    if not (isinstance(images, torch.Tensor) and images.dtype == torch.uint8 and images.dim() == 4):
        raise ValueError(f"images must be uint8 (N, 3, H, W), got {getattr(images, 'dtype', type(images))} "
                         f"{tuple(getattr(images, 'shape', ()))}")
    generator = torch.Generator().manual_seed(seed * 1000 + list(CORRUPTIONS).index(name) * 10 + severity)
    return _uint8(CORRUPTIONS[name](_float(images.cpu()), severity - 1, generator))


def shifted(data: ImageSet, name: str, severity: int, *, seed: int = 0) -> ImageSet:
    """``data`` with its images corrupted; the source names the corruption and says *in the style of*."""
    images = corrupt(data.images, name, severity, seed=seed)
    return ImageSet(images, data.labels.cpu(), data.classes,
                    f"{data.source}, {name} severity {severity} (in the style of CIFAR-10-C, generated by pe-lab)")


def synthetic_textures(count: int = 1000, *, size: int = 32, seed: int = 0) -> ImageSet:
    """``count`` procedural texture images (five kinds, random colours, scales and angles) as a far-OOD set.
    Labels are the texture kind (0-4); ``source`` says it is synthetic and not DTD.

    >>> textures = synthetic_textures(10)
    >>> textures.images.shape, textures.source.startswith("synthetic textures")
    (torch.Size([10, 3, 32, 32]), True)
    """
    count = check_int("count", count, minimum=1)
    generator = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                          indexing="ij")
    images, labels = [], []
    for index in range(count):
        kind = index % 5
        angle = torch.rand(1, generator=generator).item() * math.pi
        period = 3 + torch.rand(1, generator=generator).item() * 9
        u = x * math.cos(angle) + y * math.sin(angle)
        v = -x * math.sin(angle) + y * math.cos(angle)
        if kind == 0:        # stripes
            pattern = (torch.sin(2 * math.pi * u / period) > 0).float()
        elif kind == 1:      # checkerboard
            pattern = ((torch.floor(u / period) + torch.floor(v / period)) % 2).float()
        elif kind == 2:      # smooth grating
            pattern = 0.5 + 0.5 * torch.sin(2 * math.pi * u / period)
        elif kind == 3:      # dots
            radius = ((u % period) - period / 2) ** 2 + ((v % period) - period / 2) ** 2
            pattern = (radius < (period / 3.5) ** 2).float()
        else:                # smooth noise
            coarse = torch.rand(1, 1, 5, 5, generator=generator)
            pattern = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)[0, 0].clamp(0, 1)
        colours = torch.rand(2, 3, 1, 1, generator=generator)
        image = colours[0] * pattern + colours[1] * (1 - pattern)
        images.append(image)
        labels.append(kind)
    return ImageSet(_uint8(torch.stack(images)), torch.tensor(labels), ("stripes", "checkerboard", "grating", "dots",
                                                                         "smooth noise"),
                    "synthetic textures (procedural, generated by pe-lab; not DTD)")


def shift_metrics(model: torch.nn.Module, test: ImageSet, *, corruptions=tuple(CORRUPTIONS),
                  severities=SEVERITIES, device: str | torch.device = "cpu", seed: int = 0) -> dict:
    """Accuracy, NLL and ECE of ``model``'s ensemble prediction on ``test`` under every corruption and severity,
    ``{name: {severity: {...}}}``, with severity ``0`` the clean test set."""
    from .metrics import accuracy, ece, nll
    from .train import predict_member_probs

    for name in corruptions:
        check_choice("corruption", name, CORRUPTIONS)
    for severity in severities:
        check_choice("severity", severity, SEVERITIES)

    def scores(data: ImageSet) -> dict:
        probs = predict_member_probs(model, data, device=device).mean(1)
        labels = data.labels.cpu()
        return {"accuracy": accuracy(probs, labels), "nll": nll(probs, labels), "ece": ece(probs, labels)}

    clean = scores(test)
    return {name: {0: clean, **{s: scores(shifted(test, name, s, seed=seed)) for s in severities}}
            for name in corruptions}


def _source_kind(source: str) -> str:
    """``"image folder /a/b/cifar10-jpeg/test"`` -> ``"cifar10-jpeg/test"``: which data, wherever it lies."""
    words = str(source).replace("\\", "/").rstrip("/").split("/")
    return "/".join(words[-2:])


def _checkpoint_of(run: dict, args, report: dict, method: str, seed: int):
    """Where a run's final checkpoint is: ``--runs-dir`` if given, else what the report records; for reports
    written before runs recorded it, the experiment's naming rule with the ``--runs-dir`` of the report's own
    command (default ``runs``)."""
    from pathlib import Path
    from types import SimpleNamespace

    from .report import checkpoint_path

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
    return p


def _validated(args) -> tuple[dict, list[str], list[int], int, list[str]]:
    """``(report, corruptions, severities, seed, methods)`` from the command line, or a ``ValueError`` naming
    the option and its rule."""
    from .report import read_report

    report = read_report(args.report)
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
    seed = args.seed if args.seed is not None else report["provenance"]["seeds"][0]
    available = sorted({r["method"] for r in report["runs"] if r["seed"] == seed})
    methods = [m.strip() for m in args.methods.split(",")] if args.methods else available
    for method in methods:
        check_choice(f"method (runs of seed {seed} in {args.report})", method, available)
    return report, corruptions, severities, seed, methods


def _evaluate(model, test, far_sets: dict, *, corruptions, severities, official, args, device) -> dict:
    """One trained model under the generated shifts, on the far-OOD sets, and on the official files if given."""
    from .benchmarks import official_shift_metrics
    from .metrics import ood_metrics, ood_score
    from .train import predict_member_probs

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


def main(argv: list[str] | None = None) -> dict:
    """``python -m pe_lab.shift --report R.json``: evaluate the trained runs of a report (their final checkpoints)
    under the generated corruptions and on the synthetic textures, and write ``R-shift.json``."""
    import json
    import sys

    from .benchmarks import cifar10c_corruptions, load_texture_folder
    from .config import atomic_save, get_device
    from .data import DataError, load_cifar10, load_svhn, subset
    from .methods import build_from_spec
    from .runs import make_provenance
    from .train import CheckpointError, load_checkpoint

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
        test = subset(load_cifar10("test", args.data, download=False), args.test_per_class)
        svhn = subset(load_svhn(args.data, download=False), args.test_per_class)
        textures = (load_texture_folder(args.texture_folder, limit=args.textures) if args.texture_folder
                    else synthetic_textures(args.textures))
        official = cifar10c_corruptions(args.cifar10c) if args.cifar10c else None
    except (DataError, FileNotFoundError) as error:
        p.exit(1, f"{p.prog}: error: {error}\n")
    if _source_kind(test.source) != _source_kind(trained_on.get("test", "")):
        print(f"warning: the runs were tested on {trained_on.get('test')}; this evaluation reads {test.source}",
              file=sys.stderr)
    results = {}
    for method in methods:
        run = next(r for r in report["runs"] if r["method"] == method and r["seed"] == seed)
        model = build_from_spec(run["spec"])
        try:
            model.load_state_dict(load_checkpoint(_checkpoint_of(run, args, report, method, seed))["model"])
        except (CheckpointError, FileNotFoundError) as error:
            p.exit(1, f"{p.prog}: error: {error}\n")
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
