"""Figures of a packed layer's structure: member masks, the (B, M·C) <-> (M·B, C) rearrange, what each method
shares, and costs side by side."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ...methods.registry import HYPERPARAMETERS, METHODS, options_of
from ...validate import check_choice
from .style import member_colour

__all__ = ["cost_figure", "mask_figure", "rearrange_figure", "sharing_figure"]


def mask_figure(member_masks: list[torch.Tensor], *, title: str = "", ax=None) -> Figure:
    """Heatmap of a layer's mask, each member's entries in its own colour, white where the mask is 0.

    ``member_masks``: the ``mask_m^j`` of each member, 2-D ``(C_out, C_in)`` (a conv mask is reduced
    over its kernel). Rows are output channels c, columns input channels l (notebook 01's notation).
    """
    masks = [m if m.dim() == 2 else m.flatten(2).amax(-1) for m in member_masks]
    owner = torch.zeros_like(masks[0])
    for index, mask in enumerate(masks):
        owner = torch.where(mask > 0, torch.full_like(owner, index + 1), owner)
    colours = ["#FFFFFF"] + [member_colour(m) for m in range(len(masks))]
    if ax is None:
        out_size, in_size = owner.shape
        scale = 4.2 / max(out_size, in_size)
        fig, ax = plt.subplots(figsize=(max(2.8, in_size * scale + 1.2), max(2.5, out_size * scale + 0.8)))
    else:
        fig = ax.figure
    ax.imshow(owner.numpy(), cmap=ListedColormap(colours), vmin=0, vmax=len(masks), interpolation="nearest")
    ax.set_xlabel("input channel l")
    ax.set_ylabel("output channel c")
    ax.set_title(title, fontsize=10)
    out_size, in_size = owner.shape
    ax.set_xticks(np.arange(-0.5, in_size, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, out_size, 1), minor=True)
    if max(out_size, in_size) <= 48:
        ax.grid(which="minor", color="#DDDDDD", linewidth=0.4)
    ax.tick_params(which="minor", length=0)
    handles = [plt.Rectangle((0, 0), 1, 1, color=member_colour(m)) for m in range(len(masks))]
    ax.legend(handles, [f"member {m}" for m in range(len(masks))], loc="upper left", bbox_to_anchor=(1.01, 1),
              fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def rearrange_figure(batch: int, num_estimators: int, channels: int) -> Figure:
    """The two layouts of a packed activation: ``(B, M*C)`` and ``(M*B, C)``, coloured by member; every entry is
    labelled ``b,c`` (sample b, channel c of its member), so one entry can be followed as it moves."""
    fig, axes = plt.subplots(1, 2, figsize=(max(9.0, 1.1 * num_estimators * channels + 4), 3.6))
    packed = np.repeat(np.arange(num_estimators), channels)[None, :].repeat(batch, 0)
    members = np.repeat(np.arange(num_estimators), batch)[:, None].repeat(channels, 1)
    cmap = ListedColormap([member_colour(m) for m in range(num_estimators)])
    # (b, c) of each entry in both layouts: packed column m*C + c, member-major row m*B + b.
    packed_labels = [[f"{b},{col % channels}" for col in range(num_estimators * channels)] for b in range(batch)]
    member_labels = [[f"{row % batch},{c}" for c in range(channels)] for row in range(num_estimators * batch)]
    for ax, grid, labels, title, xlabel, ylabel in (
        (axes[0], packed, packed_labels, f"packed: (B, M·C) = ({batch}, {num_estimators * channels})",
         "channel m·C + c", "sample b"),
        (axes[1], members, member_labels, f"member-major: (M·B, C) = ({num_estimators * batch}, {channels})",
         "channel c", "row m·B + b"),
    ):
        ax.imshow(grid, cmap=cmap, vmin=0, vmax=max(num_estimators - 1, 1), aspect="auto", interpolation="nearest")
        for row, line in enumerate(labels):
            for col, text in enumerate(line):
                ax.text(col, row, text, ha="center", va="center", fontsize=8, color="white")
        ax.set_xticks(range(grid.shape[1]))
        ax.set_yticks(range(grid.shape[0]))
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    fig.suptitle("rearrange 'b (m c) -> (m b) c': each entry 'b,c' keeps its colour (member m) and moves from "
                 "the channels to the batch", fontsize=10)
    fig.tight_layout()
    return fig


def sharing_figure(num_estimators: int = 4, channels: int = 8, **hyperparameters) -> Figure:
    """What each method shares, drawn like the mask figures: one panel per registered method with a ``sharing``
    drawing (the Single has nothing to share), for one hidden layer of ``channels`` -> ``channels`` (at the
    method's own width), each weight (row: output channel, column: input channel) coloured by the member that owns
    it, grey when several members share it (the number written is how many). ``hyperparameters`` (``alpha``,
    ``gamma``, ``scale``, ...) replace the records' defaults."""
    m = num_estimators
    for name in hyperparameters:
        check_choice("hyperparameter", name, HYPERPARAMETERS)
    given = {"num_estimators": m, **hyperparameters}
    panels = []
    for method in METHODS.values():
        if method.sharing is not None:
            drawn = method.sharing(channels, **{o.name: given.get(o.name, o.default) for o in options_of(method)})
            users = drawn.users.numpy() if hasattr(drawn.users, "numpy") else drawn.users
            panels.append((drawn.title, drawn.owner.numpy(), users))
    colours = ["#BBBBBB", "#FFFFFF"] + [member_colour(i) for i in range(m)]  # -2 shared, -1 unused, members
    cmap = ListedColormap(colours)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.6))
    for ax, (title, grid, counts) in zip(axes, panels, strict=True):
        ax.imshow(grid + 2, cmap=cmap, vmin=0, vmax=len(colours) - 1, interpolation="nearest")
        if isinstance(counts, np.ndarray):
            for (k, col), value in np.ndenumerate(counts):
                if value > 1:
                    ax.text(col, k, f"{int(value)}", ha="center", va="center", fontsize=7)
        elif counts is not None:
            ax.text(grid.shape[1] / 2 - 0.5, grid.shape[0] / 2 - 0.5, f"all {counts}", ha="center", va="center",
                    fontsize=12)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("input channel")
        ax.set_ylabel("output channel")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("One hidden layer: which member uses which weight (colour: the one member that owns it; grey: shared;"
                 " white: no weight)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return fig


def cost_figure(rows: dict[str, dict[str, float]], *, keys: tuple[str, ...] = ("params", "flops"),
                title: str = "") -> Figure:
    """Bar charts of costs; ``rows``: contender -> {key: value}. Bars carry their ratio to the first contender;
    ``params`` are shown in millions, ``flops`` in MFLOPs per image."""
    units = {"params": ("parameters (millions)", 1e-6), "flops": ("forward MFLOPs per image", 1e-6)}
    names = list(rows)
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        label, scale = units.get(key, (key, 1.0))
        values = [rows[n][key] for n in names]
        bars = ax.bar(names, [v * scale for v in values], color=[member_colour(i) for i in range(len(names))])
        for bar, value in zip(bars, values, strict=True):
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{value / values[0]:.2f}x",
                    ha="center", va="bottom", fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.set_ylabel(label, fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
    if title:
        fig.suptitle(title + " (bar labels: ratio to the first)", fontsize=10)
    fig.tight_layout()
    return fig
