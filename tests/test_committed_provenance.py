"""Committed results name their data by name and fingerprint, never by a path of the machine that made them: a path
there means nothing on a student's machine and tells where an author's files lay."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from pe_lab.data.images import dataset_name
from pe_lab.results.provenance import recorded_command, without_paths

ROOT = Path(__file__).resolve().parent.parent
# Where data and scratch files lay on the machines that made the committed results, and home folders anywhere.
MACHINE_PATH = re.compile(r"(/work/|/tmp/|\.\./shared/|/home/|/root/|/Users/|[A-Za-z]:\\\\)")


def _strings(value, where=""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")
    elif isinstance(value, str):
        yield where, value


def _committed_records():
    for path in sorted((ROOT / "assets").rglob("*.json")):
        yield path, json.loads(path.read_text())
    for path in sorted((ROOT / "assets" / "checkpoints").glob("*.pt")):
        yield path, torch.load(path, map_location="cpu", weights_only=True)["provenance"]


def test_no_committed_record_holds_a_path_of_the_machine_that_made_it():
    found = [f"{path.relative_to(ROOT)}: {where} = {text[:80]!r}" for path, record in _committed_records()
             for where, text in _strings(record) if MACHINE_PATH.search(text)]
    assert not found, "\n".join(found[:20])


def test_the_check_finds_a_machine_path():
    assert MACHINE_PATH.search("image folder /work/shared/data/cifar10-jpeg/test")
    assert MACHINE_PATH.search("pe-lab experiment --data ../shared/data")
    assert not MACHINE_PATH.search("image folder cifar10-jpeg/test (subset: 100 per class)")


@pytest.mark.parametrize(("source", "name"), [
    ("image folder /work/shared/data/cifar10-jpeg/test", "image folder cifar10-jpeg/test"),
    ("image folder ../shared/data/cifar10-jpeg/train (subset: 100 per class)",
     "image folder cifar10-jpeg/train (subset: 100 per class)"),
    ("image folder /data/imagenet/train (streamed, 64x64 crops)", "image folder imagenet/train (streamed, 64x64 crops)"),
    ("synthetic (other class patterns, as OOD)", "synthetic (other class patterns, as OOD)"),
])
def test_a_data_set_is_named_without_its_folder(source, name):
    assert dataset_name(source) == name


def test_a_recorded_command_names_its_data_options():
    words = ["--data", "/home/me/data", "--ood-folder=/srv/x/svhn/test", "--train-folder", "../shared/a/b", "--epochs",
             "3"]
    recorded = recorded_command("pe-lab experiment", words)
    assert recorded == "pe-lab experiment --data $PE_LAB_DATA --ood-folder=svhn/test --train-folder a/b --epochs 3"
    assert recorded_command("pe-lab experiment", ["--out", "assets/results/x.json"]).endswith("assets/results/x.json")
    assert not MACHINE_PATH.search(recorded)


def test_a_record_loses_its_paths_but_keeps_files_inside_the_working_folder():
    record = {"command": "python -m pe_lab.experiment --data ../shared/data --out /tmp/x/r.json --runs-dir runs/a",
              "data": {"train": "image folder /work/shared/data/cifar10-jpeg/train"},
              "runs": [{"checkpoint": "/work/ckpt/lenet/r-1-single-seed0.pt"}], "report": {"written_as": "/a/b.json"}}
    named = without_paths(record)
    assert named["command"] == "python -m pe_lab.experiment --data $PE_LAB_DATA --out r.json --runs-dir runs/a"
    assert named["data"]["train"] == "image folder cifar10-jpeg/train"
    assert named["runs"][0]["checkpoint"] == "r-1-single-seed0.pt" and named["report"]["written_as"] == "b.json"
    assert not any(MACHINE_PATH.search(text) for _, text in _strings(named))
