"""One error boundary per command line: a user's mistake gets exit 1 (2 for usage) and one line naming the rule
on stderr, never a traceback. Each command is run in-process, so an exception that escaped would fail the test."""

import pytest

from pe_lab.cli import bench, datapack, experiment, shift, sweep

TINY = ["--synthetic", "--train-per-class", "4", "--epochs", "1", "--methods", "single", "--model", "lenet",
        "--no-eta", "--no-progress", "--seeds", "0", "--schedule", "cosine", "--batch-size", "8"]


def _mistakes(tmp_path):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "garbage.json").write_text("{not json")
    (tmp_path / "short.pack").write_bytes(b"PE-LAB-DATAPACK 2\n\x05")
    out = ["--out", str(tmp_path / "r.json"), "--runs-dir", str(tmp_path / "runs")]
    return [
        ("experiment --device gpu0", experiment.main, [*TINY, *out, "--device", "gpu0"], 2, "is not a device"),
        ("experiment --device mps", experiment.main, [*TINY, *out, "--device", "mps"], 2, "no Apple GPU"),
        ("experiment --out DIR", experiment.main, [*TINY, "--out", str(tmp_path)], 2, "is a folder"),
        ("experiment --out ''", experiment.main, [*TINY, "--out", ""], 2, "--out is empty"),
        ("experiment --runs-dir FILE", experiment.main, [*TINY, "--runs-dir", str(tmp_path / "a-file")], 2,
         "is a file, not a folder"),
        ("experiment --resume garbage", experiment.main,
         [*TINY, "--resume", "--out", str(tmp_path / "garbage.json"), "--runs-dir", str(tmp_path / "runs")], 1,
         "cannot be read as JSON"),
        ("experiment missing data", experiment.main,
         ["--data", str(tmp_path / "nowhere"), "--offline", "--epochs", "1", *out], 1, "nowhere"),
        ("bench --device gpu0", bench.main, ["--device", "gpu0", "--model", "lenet"], 2, "is not a device"),
        ("bench --batch 0", bench.main, ["--batch", "0", "--model", "lenet"], 2, "--batch must be"),
        ("shift --severities 1,x", shift.main, ["--report", str(tmp_path / "garbage.json"), "--severities", "1,x"],
         2, "--severities must be comma-separated integers"),  # the options' own rules come before the report
        ("shift garbage report", shift.main, ["--report", str(tmp_path / "garbage.json")], 2,
         "cannot be read as JSON"),
        ("shift no report", shift.main, ["--report", str(tmp_path / "none.json")], 2, "cannot be read"),
        ("datapack truncated", datapack.main, ["unpack", str(tmp_path / "short.pack"), str(tmp_path / "d")], 1,
         "truncated"),
        ("datapack missing", datapack.main, ["unpack", str(tmp_path / "none.pack"), str(tmp_path / "d")], 1,
         "none.pack"),
        ("datapack --svhn -1", datapack.main, ["pack", str(tmp_path), str(tmp_path / "p.pack"), "--svhn", "-1"], 2,
         "must be an integer >= 1"),
        ("sweep collect, nothing run", sweep.main, ["collect", "--dir", str(tmp_path / "empty")], 1,
         "no finished grid point"),
    ]


@pytest.mark.parametrize("index", range(16))
def test_a_users_mistake_is_one_named_line_and_an_exit_code(tmp_path, capsys, index):
    name, main, argv, code, words = _mistakes(tmp_path)[index]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == code, (name, err)
    assert words in err and "Traceback" not in err, (name, err)
    assert len([line for line in err.splitlines() if "error:" in line]) == 1, (name, err)


def test_the_severities_rule_is_named_for_a_readable_report(tmp_path, capsys):
    import json

    (tmp_path / "r.json").write_text(json.dumps({"provenance": {"seeds": [0], "command": "x", "data": {}},
                                                 "runs": [{"method": "single", "seed": 0, "spec": {}}]}))
    with pytest.raises(SystemExit) as stop:
        shift.main(["--report", str(tmp_path / "r.json"), "--severities", "1,x"])
    assert stop.value.code == 2 and "--severities must be comma-separated integers" in capsys.readouterr().err
