"""Packed layers' arguments and inputs: named errors for what the layer cannot compute."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pe_lab.methods.registry import build
from pe_lab.nn.layers import PackedConv2d, logits_by_member, members_to_packed, packed_to_members

pytestmark = pytest.mark.usefixtures("private_cache")  # decode into a cache of its own, no $PE_LAB_DATA


@pytest.mark.parametrize("make,error,message", [
    (lambda: PackedConv2d(4, 4, 3, alpha=float("inf"), num_estimators=2), ValueError, "alpha must be a finite"),
    (lambda: PackedConv2d(4, 4, 3, alpha="2", num_estimators=2), TypeError, "alpha must be a number, got '2'"),
    (lambda: PackedConv2d(4, 4, 3, alpha=1, num_estimators=True), TypeError, "num_estimators must be an integer, got True"),
    (lambda: PackedConv2d(4, 4, 0, alpha=1, num_estimators=2), ValueError, "kernel_size must be an integer >= 1"),
    (lambda: PackedConv2d(4, 4, -1, alpha=1, num_estimators=2), ValueError, "kernel_size must be an integer >= 1"),
    (lambda: PackedConv2d(4, 4, 3, alpha=1, num_estimators=2, stride=0), ValueError, "stride must be an integer >= 1"),
    (lambda: packed_to_members(torch.zeros(2, 4), 0), ValueError, "num_estimators must be an integer >= 1"),
    (lambda: members_to_packed(torch.zeros(2, 4), 0), ValueError, "num_estimators must be an integer >= 1"),
    (lambda: logits_by_member(torch.zeros(2, 4), 0), ValueError, "num_estimators must be an integer >= 1"),
    (lambda: build("lenet", "packed", num_estimators=True), TypeError, "num_estimators must be an integer"),
])
def test_layer_arguments_get_named_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_numpy_integers_are_integers():
    layer = PackedConv2d(np.int64(4), np.int64(4), 3, alpha=np.float32(2), num_estimators=np.int64(2),
                         gamma=np.int32(1))
    assert (layer.num_estimators, layer.groups) == (2, 2) and type(layer.num_estimators) is int
    model = build("lenet", "packed", alpha=np.float64(2), num_estimators=np.int64(2))
    json.dumps(model.spec.to_dict())  # plain Python numbers in the spec


def test_float64_input_is_a_named_error():
    layer = PackedConv2d(4, 4, 3, alpha=1, num_estimators=2)
    with pytest.raises(TypeError, match="has torch.float32 weights but got a torch.float64 input"):
        layer(torch.zeros(1, 4, 5, 5, dtype=torch.float64))
    model = build("lenet", "single")
    with pytest.raises(TypeError, match="torch.float64 input"):
        model(torch.zeros(1, 3, 32, 32, dtype=torch.float64))
    assert model.double()(torch.zeros(1, 3, 32, 32, dtype=torch.float64)).shape == (1, 1, 10)


def test_the_dtype_check_reads_autocast_on_a_torch_without_its_device_argument(monkeypatch):
    def is_autocast_enabled(*args):  # torch 2.3, the oldest the package allows, takes no device argument
        if args:
            raise TypeError("is_autocast_enabled() takes 0 positional arguments")
        return False

    layer = PackedConv2d(4, 4, 3, alpha=1, num_estimators=2)
    with monkeypatch.context() as patch:
        patch.setattr(torch, "is_autocast_enabled", is_autocast_enabled)
        with pytest.raises(TypeError, match="has torch.float32 weights but got a torch.float64 input"):
            layer(torch.zeros(1, 4, 5, 5, dtype=torch.float64))
    with torch.autocast("cpu", dtype=torch.bfloat16), monkeypatch.context() as patch:  # torch's own autocast
        patch.setattr(torch, "is_autocast_enabled", is_autocast_enabled)            # calls the new form
        assert layer(torch.zeros(1, 4, 5, 5, dtype=torch.bfloat16)).shape == (1, 4, 3, 3)  # autocast casts: no error


def test_uint8_images_fed_to_a_model_advise_normalising():
    with pytest.raises(TypeError, match="got torch.uint8 images; .* scale and normalise them first"):
        build("lenet", "single")(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
