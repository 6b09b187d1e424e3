"""Solutions of notebooks/01_convolution_math.ipynb, one ``exercise_N`` per exercise (format: ``reading``)."""

import torch
import torch.nn.functional as F

from pe_lab import check_readers

# bound by the notebook's cells: section 1's input, weight and bias, section 2's grouped convolution by loops
h = weight = bias = grouped_conv2d_by_loops = ...


def exercise_1():
    r"""Input channel $l$ lies in group $g = \lfloor l / (C_{j-1}/G) \rfloor$, and a group's inputs are read by
    exactly the same group's outputs: the $C_j/G$ output channels $g \cdot C_j/G, \dots, (g+1) C_j/G - 1$. (Dense,
    $G = 1$: every output reads every input.)"""
    def readers(channel, c_in, c_out, groups):
        group = channel // (c_in // groups)                      # the input block of this channel
        return range(group * (c_out // groups), (group + 1) * (c_out // groups))
    verdict = check_readers(readers)
    assert verdict, verdict


def exercise_2():
    r"""Pad the input first, then step the window by `stride`: the output side is $\lfloor (H + 2\,\text{padding} -
    k)/\text{stride} \rfloor + 1$ for a $k \times k$ kernel. The loops match `F.conv2d` (the cell asserts a
    difference below $10^{-5}$)."""
    def conv2d_by_loops_strided(h, weight, bias, stride=1, padding=0):
        h = F.pad(h, (padding, padding, padding, padding))
        c_out, _, k, _ = weight.shape
        out_height, out_width = (h.shape[1] - k) // stride + 1, (h.shape[2] - k) // stride + 1
        z = torch.zeros(c_out, out_height, out_width)
        for c in range(c_out):
            for u in range(out_height):
                for v in range(out_width):
                    window = h[:, u * stride:u * stride + k, v * stride:v * stride + k]
                    z[c, u, v] = (weight[c] * window).sum() + bias[c]
        return z
    z_strided = conv2d_by_loops_strided(h, weight, bias, stride=2, padding=1)
    print("output", tuple(z_strided.shape))
    assert torch.allclose(z_strided, F.conv2d(h[None], weight, bias, stride=2, padding=1)[0], atol=1e-5)


def exercise_3():
    r"""With $G = 64$ groups each output channel reads one input channel: $C_j \cdot (C_{j-1}/G) \cdot k^2 = 64
    \cdot 1 \cdot 3^2 = 576$ weights (plus 64 biases), $1/G = 1/64$ of the dense layer's $64 \cdot 64 \cdot 3^2 =
    36{,}864$; the cell counts both."""
    depthwise = torch.nn.Conv2d(64, 64, 3, groups=64, bias=False)
    print("depthwise weights:", depthwise.weight.numel(),
          "| dense:", torch.nn.Conv2d(64, 64, 3, bias=False).weight.numel())
    assert depthwise.weight.numel() == 64 * 1 * 3 * 3


def exercise_4():
    """The library is far faster: the cell prints the ratio measured now, after a warm-up call (the first call of
    `F.conv2d` pays a one-off setup). The loops run one tiny tensor operation per (output channel, input channel of
    its group, position), each paying Python and dispatch overhead of microseconds; `F.conv2d` runs one vectorised
    kernel (oneDNN on a CPU). The loops show *which* numbers are summed; they are a specification, not an
    implementation."""
    import time
    h64, w64, b64 = torch.randn(64, 6, 6), torch.randn(64, 8, 3, 3), torch.randn(64)   # 64 channels, 8 groups
    start = time.perf_counter()
    loops = grouped_conv2d_by_loops(h64, w64, b64, 8)
    t_loops = time.perf_counter() - start
    F.conv2d(h64[None], w64, b64, groups=8)                                             # warm-up
    start = time.perf_counter()
    for _ in range(100):
        lib = F.conv2d(h64[None], w64, b64, groups=8)[0]
    t_lib = (time.perf_counter() - start) / 100
    print(f"loops {1e3 * t_loops:.1f} ms, F.conv2d {1e3 * t_lib:.3f} ms: {t_loops / t_lib:.0f}x "
          "(a benchmark, not a test)")
    assert torch.allclose(loops, lib, atol=1e-4)
