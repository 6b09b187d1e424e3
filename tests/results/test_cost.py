"""Cost measurement: counts agree with closed forms; the benchmark CLI prints and writes its table."""

import json

import pytest
import torch
from torch import nn

from pe_lab.cli.bench import main as bench_main
from pe_lab.results.cost import (
    activation_bytes,
    count_flops,
    count_params,
    measure,
    reference_available,
    registered_contenders,
)


def test_flops_of_a_conv_match_the_formula():
    conv = nn.Conv2d(4, 8, 3, padding=1, bias=False)
    assert count_flops(conv, (1, 4, 10, 10)) == 2 * 4 * 8 * 9 * 10 * 10


def test_activation_bytes_scale_with_batch_and_ignore_parameters():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3))
    small, large = activation_bytes(model, (2, 3, 16, 16)), activation_bytes(model, (4, 3, 16, 16))
    assert large == 2 * small and small > 0
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}  # taken *before* the calls this time
    activation_bytes(model, (2, 3, 16, 16))
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert model.training  # and the mode it was in


def test_measure_lenet_pe_matches_single_params_and_flops_rules():
    costs = {c.name: c for c in measure("lenet", alpha=2, num_estimators=4, batch_size=8, repeats=1, warmup=0)}
    assert set(costs) == set(registered_contenders()) >= {"single", "deep_loop", "deep_vmap", "packed"}
    assert costs["deep_loop"].params == 4 * costs["single"].params == costs["deep_vmap"].params
    assert costs["deep_loop"].flops == 4 * costs["single"].flops
    assert costs["packed"].params < costs["deep_loop"].params / 2
    assert all(c.forward_ms > 0 and c.train_step_ms > 0 for c in costs.values())
    # A DE trained member by member holds one member's activations; in one graph, all four (sharing the input).
    assert 3 * costs["deep_loop"].activation_bytes < costs["deep_vmap"].activation_bytes <= 4 * costs["deep_loop"].activation_bytes


def test_measure_rejects_unknown_contenders():
    with pytest.raises(ValueError, match="unknown contender 'fast'"):
        measure("lenet", contenders=("fast",))
    if not reference_available():
        with pytest.raises(ValueError, match="needs torch-uncertainty"):
            measure("resnet20", contenders=("reference_pe",))


def test_bench_cli_prints_ratios_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    result = bench_main(["--model", "lenet", "--batch", "4", "--repeats", "1", "--warmup", "0",
                         "--contenders", "single,deep_loop,packed", "--out", str(out)])
    printed = capsys.readouterr().out
    assert "PE/Single: params" in printed and "DE (loop)/PE: train step" in printed
    stored = json.loads(out.read_text())
    assert [c["name"] for c in stored["costs"]] == ["single", "deep_loop", "packed"]
    assert stored["provenance"]["hardware"] and result["table"] in printed


def test_count_params():
    assert count_params(nn.Linear(3, 2, bias=False)) == 6
