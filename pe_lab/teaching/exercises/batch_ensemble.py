"""Notebook 06's checker: a BatchEnsemble member's weight, the shared weight rescaled by a rank-1 factor."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .checking import Check, raised, refuse_library, with_answer

__all__ = ["MEMBER_WEIGHT_SETTINGS", "check_member_weight"]


MEMBER_WEIGHT_SETTINGS = ((5, 3), (2, 7), (4, 4))  # (C_out, C_in): both non-square ways, and square


def check_member_weight(your_weight: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor], *,
                        reveal: bool | None = None) -> Check:
    """Check ``your_weight(W, r_m, s_m)``: BatchEnsemble member m's weight ``W ∘ (s_m r_mᵀ)`` for a linear layer's
    shared ``W`` ``(C_out, C_in)``, ``r_m`` ``(C_in,)`` and ``s_m`` ``(C_out,)``, on a 5x3, a 2x7 and a 4x4
    layer."""
    refused = refuse_library(your_weight, "member m's weight")
    if refused is not None:
        return refused
    generator = torch.Generator().manual_seed(0)
    for c_out, c_in in MEMBER_WEIGHT_SETTINGS:
        weight = torch.randn(c_out, c_in, generator=generator)
        r, s = torch.randn(c_in, generator=generator), torch.randn(c_out, generator=generator)
        expected = weight * torch.outer(s, r)
        where = f"C_out={c_out}, C_in={c_in} (shapes: W {tuple(weight.shape)}, r_m ({c_in},), s_m ({c_out},))"
        try:
            got = your_weight(weight.clone(), r.clone(), s.clone())
        except Exception as error:  # noqa: BLE001 - the student's code; say what it raised
            if c_out != c_in and _swapped_on_a_square_layer(your_weight):  # r and s trade places: shapes clash
                return with_answer(Check(False, f"for {where} your function raised {type(error).__name__}: r_m "
                                                "scales the input channels (columns l) and s_m the output channels "
                                                "(rows c): yours are swapped."), f"\n{expected}", reveal)
            return raised(where, error)
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            shape = tuple(getattr(got, "shape", ())) or type(got).__name__
            hint = (" Rows are the C_out output channels (scaled by s_m), columns the C_in inputs (scaled by r_m)."
                    if shape == (c_in, c_out) else "")
            return Check(False, f"for {where} member m's weight has the shared weight's shape (C_out, C_in) = "
                                f"{(c_out, c_in)}, got {shape}.{hint}")
        got = got.to(expected.dtype)
        if torch.allclose(got, expected, atol=1e-5):
            continue
        mistakes = [
            (torch.outer(s, r), "the fast weights rescale the shared weight W; they do not replace it"),
            (weight * s[:, None], "r_m rescales the input channels too (the columns)"),
            (weight * r[None, :], "s_m rescales the output channels too (the rows)"),
            (weight + torch.outer(s, r), "the rank-1 factor multiplies W entrywise (∘), it is not added"),
            (weight * torch.outer(s, r).abs(), "keep the signs of r_m and s_m"),
            (weight * torch.outer(r, s) if c_in == c_out else None,
             "r_m scales the input channels (columns l) and s_m the output channels (rows c): yours are swapped"),
        ]
        for value, reason in mistakes:
            if value is not None and torch.allclose(got, value, atol=1e-5):
                return with_answer(Check(False, f"for {where}: {reason}."), f"\n{expected}", reveal)
        return with_answer(Check(False, f"for {where} that is not member m's weight: each entry W[c, l] is scaled by "
                                        "s_m[c] * r_m[l]."), f"\n{expected}", reveal)
    return Check(True, "W ∘ (s_m r_mᵀ): output channel c scaled by s_m[c], input channel l by r_m[l].")


def _swapped_on_a_square_layer(your_weight: Callable) -> bool:
    """Whether ``your_weight`` gives ``W ∘ (r_m s_mᵀ)`` (r and s swapped) on a square layer, where it can run."""
    generator = torch.Generator().manual_seed(1)
    weight, r, s = torch.randn(4, 4, generator=generator), torch.randn(4, generator=generator), \
        torch.randn(4, generator=generator)
    try:
        got = torch.as_tensor(your_weight(weight.clone(), r.clone(), s.clone())).float()
    except Exception:  # noqa: BLE001 - the student's code fails there too: not this mistake
        return False
    return got.shape == (4, 4) and torch.allclose(got, weight * torch.outer(r, s), atol=1e-5)
