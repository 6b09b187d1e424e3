"""The base-width knob: every architecture x method, parameter equalities the width sweep relies on, and
PE(alpha = M) unpacking into networks of exactly the Single's architecture."""

import pytest
import torch

from pe_lab.methods.packed import pack, unpack
from pe_lab.methods.registry import METHODS, build, build_from_spec, label_for
from pe_lab.results.cost import count_params


@pytest.mark.parametrize("kind", sorted(METHODS))
@pytest.mark.parametrize("name", ["lenet", "resnet20"])
def test_every_method_takes_a_base_width(name, kind):
    narrow, wide = build(name, kind, width=1), build(name, kind, width=2)
    assert wide.spec.width == 2 and narrow.spec.width == 1
    assert wide(torch.zeros(2, 3, 32, 32)).shape == narrow(torch.zeros(2, 3, 32, 32)).shape
    # hidden layers have twice the channels: between 3x and 4x the parameters (first/last layers grow 2x)
    assert 3 * count_params(narrow) < count_params(wide) < 4.1 * count_params(narrow)
    assert count_params(build_from_spec(wide.spec.to_dict())) == count_params(wide)


def test_width_scales_the_channels_before_alpha():
    pe = build("lenet", "packed", alpha=2, num_estimators=4, width=2)
    assert pe.features[0].out_channels == 2 * 2 * 6 and pe.features[3].out_channels == 2 * 2 * 16
    assert build("lenet", "single", width=2).features[0].out_channels == 12


@pytest.mark.parametrize("name", ["lenet", "resnet20"])
def test_pe_2_4_1_at_width_2w_has_the_parameters_of_de4_at_width_w(name):
    for w in (1, 2):
        assert count_params(build(name, "packed", alpha=2, num_estimators=4, width=2 * w)) == \
            count_params(build(name, "deep", num_estimators=4, width=w))


@pytest.mark.parametrize("name,width", [("lenet", 1), ("lenet", 2), ("resnet20", 1)])
def test_pe_with_alpha_equal_m_unpacks_into_networks_of_the_singles_architecture(name, width):
    torch.manual_seed(0)
    pe = build(name, "packed", alpha=4, num_estimators=4, width=width).eval()
    single = build(name, "single", width=width)
    members = [m.eval() for m in unpack(pe)]
    assert len(members) == 4
    for member in members:
        shapes = {k: tuple(v.shape) for k, v in member.state_dict().items()}
        assert shapes == {k: tuple(v.shape) for k, v in single.state_dict().items()}  # parameter for parameter
    assert count_params(pe) == 4 * count_params(single)
    x = torch.randn(3, 3, 32, 32)
    assert torch.allclose(torch.cat([m(x) for m in members], 1), pe(x), atol=1e-5)


def test_unpack_then_pack_keeps_a_widened_pe():
    torch.manual_seed(1)
    pe = build("lenet", "packed", alpha=3, num_estimators=4, width=2).eval()
    members = unpack(pe)
    assert members[0].spec.width == 2 * 3 / 4 and members[0].features[0].out_channels == 9
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(pack(members).eval()(x), pe(x), atol=1e-5)


@pytest.mark.parametrize("width,message", [(0.3, "width\\*out_channels=0.3\\*6=1.8 is not a positive integer"),
                                           (0, "width must be"), (-1, "width must be")])
def test_a_width_that_breaks_a_channel_count_names_the_layer(width, message):
    with pytest.raises(ValueError, match=message):
        build("lenet", "single", width=width)


def test_the_label_says_the_width_only_when_it_is_not_the_published_one():
    assert label_for(build("lenet", "packed").spec.to_dict()) == "PE(2,4,1)"
    assert label_for(build("lenet", "packed", width=2).spec.to_dict()) == "PE(2,4,1) x2"
    assert label_for(build("lenet", "single", width=4).spec.to_dict()) == "Single x4"
