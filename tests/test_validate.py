"""The argument checks every entry point shares: integers and numbers of every kind a user holds (Python, NumPy,
0-dimensional tensors) accepted, booleans and fractions refused, each refusal naming the rule and the value."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pe_lab.validate import check_int, check_number


@pytest.mark.parametrize("value", [10, np.int64(10), np.int32(10), np.uint8(10), torch.tensor(10),
                                   torch.tensor(10, dtype=torch.int32), np.array(10), torch.arange(11).max()])
def test_every_kind_of_integer_is_an_integer(value):
    assert check_int("num_classes", value, minimum=2) == 10
    assert type(check_int("num_classes", value, minimum=2)) is int


@pytest.mark.parametrize("value", [True, np.bool_(True), torch.tensor(True), 10.0, np.float64(10), torch.tensor(10.0),
                                   torch.tensor([10]), "10", None])
def test_booleans_floats_and_non_scalars_are_not_integers(value):
    with pytest.raises(TypeError, match="num_classes must be an integer, got"):
        check_int("num_classes", value, minimum=2)


@pytest.mark.parametrize("value", [np.int64(1), torch.tensor(1)])
def test_a_numpy_or_torch_integer_below_the_minimum_names_the_rule(value):
    with pytest.raises(ValueError, match=r"num_classes must be an integer >= 2, got num_classes=1"):
        check_int("num_classes", value, minimum=2)


@pytest.mark.parametrize("value", [0.5, np.float32(0.5), np.float64(0.5), torch.tensor(0.5), np.array(0.5),
                                   torch.tensor(0.5, dtype=torch.float16)])
def test_every_kind_of_real_number_is_a_number(value):
    assert check_number("lr", value, positive=True) == 0.5


@pytest.mark.parametrize("value", [torch.tensor(float("nan")), np.float64("inf"), 10**400])
def test_non_finite_numbers_of_every_kind_are_refused(value):
    with pytest.raises(ValueError, match="lr must be a finite number"):
        check_number("lr", value, positive=True)


@pytest.mark.parametrize("value", [torch.tensor(True), torch.tensor([0.5]), "0.5", 1j])
def test_booleans_vectors_and_text_are_not_numbers(value):
    with pytest.raises(TypeError, match="lr must be a number"):
        check_number("lr", value)
