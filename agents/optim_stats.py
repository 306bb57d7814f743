"""How much of an adaptive optimizer's step its ε decides, read from the optimizer's own state.

Adam and RMSprop (as torch writes them) step each weight by lr·m / (r + ε), where r is the weight's
running gradient RMS: √v̂ for Adam (Kingma & Ba 2015, Algorithm 1, v̂ = v / (1 − β₂ᵗ)), √(E[g²]) or, centered,
√(E[g²] − E[g]²) for RMSprop. Where r ≪ ε the step is lr/ε·m, a plain momentum-SGD step, not a normalized
one, so an ε copied from a setting with larger gradients (Dopamine's 3.125e-4, for instance) can slow the
weights whose gradients are small. The fraction of weights with r < ε (ε more than half the denominator)
says how much of a network learns that way, and the same fraction over each part of the network (torso, head)
says where: a categorical head whose atoms hold no mass has tiny gradients that a single figure for the whole
network would attribute to every layer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import torch

__all__ = ["gradient_rms", "eps_dominated_fraction"]


def gradient_rms(optimizer: torch.optim.Optimizer, group: dict, param: torch.Tensor) -> torch.Tensor | None:
    """The running gradient RMS r that `optimizer` divides `param`'s step by (before adding ε), or None
    before its first step; `group` is the param group holding `param`. Adam: √(v / (1 − β₂ᵗ)); RMSprop:
    √(E[g²]) or, centered, √(E[g²] − E[g]²)."""
    state = optimizer.state.get(param)
    if not state:
        return None
    if isinstance(optimizer, torch.optim.Adam):
        step = float(state["step"])
        bias_correction = 1.0 - group["betas"][1] ** step
        return (state["exp_avg_sq"] / bias_correction).sqrt()
    if isinstance(optimizer, torch.optim.RMSprop):
        square_avg = state["square_avg"]
        if "grad_avg" in state:
            square_avg = square_avg - state["grad_avg"] ** 2
        return square_avg.clamp(min=0).sqrt()
    raise TypeError(f"gradient_rms reads Adam and RMSprop state; got {type(optimizer).__name__}")


@torch.no_grad()
def eps_dominated_fraction(
    optimizer: torch.optim.Optimizer, parts: Mapping[str, Iterable[torch.Tensor]] | None = None
) -> dict[str, float]:
    """The fraction of `optimizer`'s weights (elements) whose gradient RMS lies below their group's ε, i.e. whose
    steps are closer to momentum SGD at rate lr/ε than to normalized steps: "" over all its parameters, and for
    each named part (a set of parameters, e.g. a module's) that holds some but not all of them, over those alone.
    NaN before the first step. One host sync however many parts."""
    held = [param for group in optimizer.param_groups for param in group["params"]]
    stepped, below = [], []
    for group in optimizer.param_groups:
        for param in group["params"]:
            rms = gradient_rms(optimizer, group, param)
            if rms is not None:
                stepped.append(param)
                below.append((rms < group["eps"]).sum())
    below_by_param = dict(zip(map(id, stepped), torch.stack(below).tolist(), strict=True)) if below else {}  # sync
    selections = {"": held}
    for name, params in (parts or {}).items():
        ids = {id(param) for param in params}
        inside = [param for param in held if id(param) in ids]
        if 0 < len(inside) < len(held):
            selections[name] = inside
    fractions = {}
    for name, params in selections.items():
        counted = [param for param in params if id(param) in below_by_param]
        total = sum(param.numel() for param in counted)
        fractions[name] = sum(below_by_param[id(param)] for param in counted) / total if total else math.nan
    return fractions
