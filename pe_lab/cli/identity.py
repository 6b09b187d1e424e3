"""What a command line's run *is*: its options sorted once into the sections of a run's identity, and what only
says where to write or what to run now.

A report's identity is ``{"recipe", "model", "data", "evaluation", "engine", "pe_lab"}``: the ``Recipe`` (seed
aside: a report holds several seeds), the models' settings, the data's fingerprints (pixels and labels, the
checkpoint's rule), how the runs are evaluated and trained; a checkpoint's is the same recipe (with its seed),
model spec and data fingerprint (``pe_lab.training.checkpoint.run_identity``). Every option of the parser is in
exactly one of ``SECTIONS`` or in ``RUN_CONTROL``: ``tests/cli/test_identity.py`` fails on an option added to the
parser and to neither, so a new option cannot silently stay out of the identity.
"""

from __future__ import annotations

import json

from ..training.checkpoint import data_fingerprint, first_difference
from ..training.recipe import Recipe
from ..version import __version__

__all__ = ["RUN_CONTROL", "SECTIONS", "matches_flat_config", "recipe_of", "report_identity"]

# the options that are a Recipe field of the same name; --no-nesterov, --no-augment and --member-loss are the
# other three (negated, or named for the command line)
_SAME_NAME = ("epochs", "batch_size", "lr", "momentum", "weight_decay", "schedule", "label_smoothing")
SECTIONS = {
    "recipe": (*_SAME_NAME, "no_nesterov", "no_augment", "member_loss"),
    "model": ("model", "alpha", "num_estimators", "gamma", "width", "rho", "batch_repetition", "scale"),
    "data": ("data_mode", "image_size"),  # and the fingerprints of the data actually loaded
    "evaluation": ("num_bins", "no_ood", "shift", "shift_per_class", "cifar10c", "texture_folder"),
    "engine": ("engine", "devices", "num_nodes", "strategy"),
}
# Options that cannot change a run's numbers: what to run now, where to write, where to read (the data's
# content is in its fingerprint), how loud, and the table's OOD criterion (the stored scores hold every criterion).
RUN_CONTROL = ("methods", "seeds", "out", "runs_dir", "resume", "restart", "save_predictions", "no_progress", "no_eta",
               "eta_only", "ood_criterion", "preset", "device", "data", "offline", "num_workers", "synthetic",
               "train_folder", "test_folder", "ood_folder", "train_per_class", "test_per_class")


def recipe_of(args, seed: int = 0) -> Recipe:
    """The ``Recipe`` of a command line (``--no-nesterov``, ``--no-augment`` and ``--member-loss`` by their names
    there)."""
    return Recipe(**{option: getattr(args, option) for option in _SAME_NAME}, nesterov=not args.no_nesterov,
                  augment=not args.no_augment, member_reduction=args.member_loss, seed=seed)


def report_identity(args, train, test, ood) -> dict:
    """A report's identity (see the module doc), as it reads back from JSON."""
    recipe = recipe_of(args).to_dict()
    del recipe["seed"]
    sections = {name: {option: getattr(args, option) for option in options}
                for name, options in SECTIONS.items() if name != "recipe"}
    sections["data"].update(train=data_fingerprint(train), test=data_fingerprint(test),
                            ood=data_fingerprint(ood) if ood is not None else None)
    identity = {"recipe": recipe, **sections, "pe_lab": __version__}
    return json.loads(json.dumps(identity))


# Options added after reports with the flat ``config`` were written: absent there, unset here, they match.
_ADDED_UNSET = ("cifar10c", "texture_folder")


def matches_flat_config(config: dict, args, train, test, ood) -> str | None:
    """For a report written before identities had sections (a flat ``config``: the options, and the data as
    source and count): the first difference from this command line, or None when it is the same run (the
    report is then resumed and rewritten with the new identity). Its data can only be compared by source and
    count, which is what that report recorded."""
    wanted = {option: getattr(args, option) for options in SECTIONS.values() for option in options}
    wanted = {k: v for k, v in wanted.items() if not (k in _ADDED_UNSET and v is None and k not in config)}
    stored = {k: config.get(k, "<absent>") for k in wanted}
    difference = first_difference(stored, json.loads(json.dumps(wanted)))
    if difference:
        return difference
    data = {"train": [train.source, len(train)], "test": [test.source, len(test)],
            "ood": [ood.source, len(ood)] if ood is not None else None}
    return first_difference({"data": config.get("data")}, {"data": data}) or first_difference(
        {"pe_lab": config.get("pe_lab")}, {"pe_lab": __version__})
