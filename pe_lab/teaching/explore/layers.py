"""The explorers of one layer and one model's cost: a packed layer's mask and its parameter counts, and the
parameters and FLOPs of every registered method, both under the three knobs of a PE (M, alpha, gamma)."""

from __future__ import annotations

from ...methods.registry import HYPERPARAMETERS, METHODS, build
from ...nn.layers import PackedConv2d, PackedLinear
from ...nn.masks import member_mask
from ...results.cost import count_flops, count_params
from ..viz import cost_figure, mask_figure
from .state import Definition, Drawn, float_slider, int_slider, message_html


def pe_controls(num_estimators: int, alpha: float, gamma: int, max_members: int) -> dict:
    """The three knobs of a PE, named as ``update`` takes them."""
    return {
        "num_estimators": int_slider("num_estimators", "M (num_estimators)", num_estimators, 1, max_members),
        "alpha": float_slider("alpha", "alpha", alpha, 1, 4, 0.5),
        "gamma": int_slider("gamma", "gamma", gamma, 1, 4),
    }


def mask_definition(in_channels: int = 6, out_channels: int = 6, *, kind: str = "conv", num_estimators: int = 2,
                    alpha: float = 2, gamma: int = 1) -> Definition:
    """M, alpha, gamma -> a hidden layer's mask and its parameter counts against the dense layer at the base
    width (``C_in*C_out`` weights per kernel position) and a Deep Ensemble of ``M`` such layers."""

    def draw(num_estimators: int, alpha: float, gamma: int) -> Drawn:
        try:
            if kind == "conv":
                layer = PackedConv2d(in_channels, out_channels, 3, alpha=alpha, num_estimators=num_estimators,
                                     gamma=gamma, bias=False)
                dense = in_channels * out_channels * 9
            else:
                layer = PackedLinear(in_channels, out_channels, alpha=alpha, num_estimators=num_estimators,
                                     gamma=gamma, bias=False)
                dense = in_channels * out_channels
        except ValueError as error:
            return Drawn([], message_html(f"not a valid PE: {error}", error=True),
                         {"figure": None, "error": str(error)})
        packed = layer.weight.numel()
        masks = [member_mask(layer, m) for m in range(num_estimators)]
        figure = mask_figure(masks, title=f"mask^j for M={num_estimators}, alpha={alpha:g}, gamma={gamma} "
                                          f"({layer.groups} groups)")
        deep = num_estimators * dense
        summary = message_html(f"params: {packed} packed weights = {packed / dense:.2f} x dense layer ({dense}) = "
                               f"{packed / deep:.2f} x Deep Ensemble of M={num_estimators} ({deep}); "
                               f"alpha^2/(M*gamma) = {alpha ** 2 / (num_estimators * gamma):.2f}")
        return Drawn([figure], summary, {"figure": figure, "params": packed, "dense_params": dense,
                                         "deep_ensemble_params": deep, "groups": layer.groups})

    return Definition(pe_controls(num_estimators, alpha, gamma, max_members=6), draw, "pe-mask-explorer",
                      "pe-param-count")


def cost_definition(model_name: str = "resnet20", *, num_estimators: int = 4, alpha: float = 2,
                    gamma: int = 1) -> Definition:
    """M, alpha, gamma -> parameters and FLOPs of every registered method, each with the knobs it takes."""
    cache: dict = {}

    def cost_of(method: str, **knobs) -> dict:
        key = (method, tuple(sorted(knobs.items())))
        if key not in cache:
            model = build(model_name, method, **knobs)
            cache[key] = {"params": count_params(model), "flops": count_flops(model)}
        return cache[key]

    def draw(num_estimators: int, alpha: float, gamma: int) -> Drawn:
        try:
            knobs = {"alpha": alpha, "num_estimators": num_estimators, "gamma": gamma}
            rows = {}
            for method in METHODS.values():
                used = {h: knobs.get(h, HYPERPARAMETERS[h]) for h in method.hyperparameters}
                rows[method.label(used)] = cost_of(method.name, **used)
        except ValueError as error:
            return Drawn([], message_html(f"not a valid PE for {model_name}: {error}", error=True),
                         {"figure": None, "error": str(error)})
        cells = "".join(f"<tr><td>{n}</td><td>{r['params']:,}</td><td>{r['flops'] / 1e6:,.1f}</td></tr>"
                        for n, r in rows.items())
        table = (f"<table><tr><th>{model_name}</th><th>parameters</th><th>forward MFLOPs per 32x32 image"
                 f"</th></tr>{cells}</table>")
        figure = cost_figure(rows, title=f"{model_name}, 10 classes, 32x32 images")
        return Drawn([figure], table, {"figure": figure, "rows": rows})

    return Definition(pe_controls(num_estimators, alpha, gamma, max_members=8), draw, "pe-cost-explorer",
                      "pe-cost-table")
