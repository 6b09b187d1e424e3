"""Solutions of notebooks/02_masks.ipynb, one ``exercise_N`` per exercise (format: ``reading``)."""

import matplotlib.pyplot as plt
import torch

from pe_lab import PackedConv2d, check_mask, layer_mask, mask_figure, member_mask, to_dense


def exercise_1():
    r"""With $G = M\gamma = 6$ groups, each maps $12/6 = 2$ output channels from $6/6 = 1$ input channel; member $m
    = 1$ owns groups $m\gamma = 2$ and 3: the blocks rows (output channels $c$) 4-5 x column (input channel $l$) 2
    and rows 6-7 x column 3. In general member $m$ owns groups $g = m\gamma, \dots, m\gamma + \gamma - 1$, and group
    $g$ is the block of rows $g \cdot \alpha C_j/G, \dots, (g+1) \alpha C_j/G - 1$ and columns $g \cdot \alpha
    C_{j-1}/G, \dots, (g+1) \alpha C_{j-1}/G - 1$: the function fills those $\gamma$ blocks with 1."""
    def your_member_mask(in_channels, out_channels, alpha, num_estimators, gamma, member):
        rows, cols = round(alpha * out_channels), round(alpha * in_channels)
        groups = num_estimators * gamma
        out_block, in_block = rows // groups, cols // groups   # one group's output and input channels
        mask = torch.zeros(rows, cols)
        for group in range(member * gamma, (member + 1) * gamma):
            mask[group * out_block:(group + 1) * out_block, group * in_block:(group + 1) * in_block] = 1
        return mask

    print(your_member_mask(3, 6, 2, 3, 2, 1).int())
    verdict = check_mask(your_member_mask, in_channels=3, out_channels=6, num_estimators=3, gamma=2, alpha=2, member=1)
    assert verdict, verdict


def exercise_2():
    r"""At $\alpha = 2$ the layer has 12 channels, and $M\gamma$ must divide them: $M\gamma \in \{1, 2, 3, 4, 6,
    12\}$. Every other pair breaks that one rule, and its error says so. The cell tries every pair the sliders
    allow ($M \le 6$, $\gamma \le 4$)."""
    valid, refused = [], {}
    for num_estimators in range(1, 7):
        for gamma in range(1, 5):
            try:
                PackedConv2d(6, 6, 1, alpha=2, num_estimators=num_estimators, gamma=gamma)
                valid.append((num_estimators, gamma))
            except ValueError as error:
                refused[(num_estimators, gamma)] = str(error)
    print("valid (M, gamma):", valid)
    print("e.g. (5, 1):", refused[(5, 1)])
    assert all(12 % (m * g) == 0 for m, g in valid) and all(12 % (m * g) for m, g in refused)


def exercise_3():
    r"""A first layer's member masks are full-width row blocks: member $m$ owns its $\alpha C_1 / M$ output channels
    and reads *every* input channel (the image). It stays independent because nothing it computes feeds another
    member: the image is read, never written."""
    first = PackedConv2d(3, 4, 3, alpha=2, num_estimators=2, first=True)
    first_masks = [member_mask(first, m)[:, :, 0, 0] for m in range(2)]
    mask_figure([member_mask(first, m) for m in range(2)], title="first layer, M=2")
    plt.show()
    assert all(bool(mask[mask.sum(1) > 0].all()) for mask in first_masks)       # an owned row reads every input
    assert not (first_masks[0] * first_masks[1]).any()                          # no output row is shared


def exercise_4():
    """`from_dense` refuses it and names the rule: the dense weight has a non-zero entry outside the block mask, so
    it is not a packed layer (a weight there would let one member read another's channels)."""
    from pe_lab import from_dense
    packed = PackedConv2d(4, 4, 3, alpha=2, num_estimators=2)
    dense = to_dense(packed)
    with torch.no_grad():
        dense.weight[0, -1, 0, 0] = 1.0                # output channel 0 (member 0) reads input 7 (member 1)
    try:
        from_dense(dense, like=packed)
        raise AssertionError("from_dense accepted a weight outside the mask")
    except ValueError as error:
        print(error)


def exercise_5():
    """With `gamma=1` in the second layer, each member's two subgroups mix: after both layers a member's outputs
    read all 4 of its channels (one 4 x 4 block per member), and that layer has twice the weights (32 instead of
    16). Members still never mix."""
    mixed = [PackedConv2d(4, 4, 1, alpha=2, num_estimators=2, gamma=2),
             PackedConv2d(4, 4, 1, alpha=2, num_estimators=2, gamma=1)]
    reach = torch.eye(8)
    for layer in mixed:
        reach = (layer_mask(layer)[:, :, 0, 0] @ reach).clamp(max=1)
    print(reach.int())
    print("weights, gamma=2 vs gamma=1:", mixed[0].weight.numel(), mixed[1].weight.numel())
    assert torch.equal(reach, torch.block_diag(torch.ones(4, 4), torch.ones(4, 4)))
    assert mixed[1].weight.numel() == 2 * mixed[0].weight.numel()
