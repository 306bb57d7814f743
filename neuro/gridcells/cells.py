"""The supervised targets of path integration: place cells and head-direction cells.

Place cells (Banino et al. 2018, `ensembles.py`): N centres drawn uniformly in the box; the target at position
x is the softmax over cells of −‖x − c_i‖² / 2σ², a distribution over cells that sums to one. With
difference-of-Gaussians tuning (Sorscher et al. 2019, `place_cells.py`) the target is that softmax minus the
softmax with σ² scaled by `surround_scale` (2 in Sorscher's code: a surround √2 times wider), shifted by its
minimum over cells and renormalised, so it too is a distribution. Head-direction cells: N preferred
directions uniform on the circle; the target is the softmax of κ cos(h − μ_i) (von Mises, κ = 20 in Banino).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["PlaceCells", "HeadDirectionCells", "softmax"]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the max for stability."""
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class PlaceCells:
    """`centres` [N, 2] in metres; `sigma_m` the tuning width; `dog` with `surround_scale` (on σ²): centre-surround."""

    centres: np.ndarray
    sigma_m: float
    dog: bool = False
    surround_scale: float = 2.0

    @classmethod
    def uniform(cls, num_cells: int, box_m: float, sigma_m: float, rng: np.random.Generator, dog: bool = False,
                surround_scale: float = 2.0) -> PlaceCells:
        if num_cells < 1 or sigma_m <= 0 or surround_scale <= 1:
            raise ValueError(f"need num_cells >= 1, sigma_m > 0, surround_scale > 1; got {num_cells}, {sigma_m}, "
                             f"{surround_scale}")
        half = box_m / 2
        return cls(rng.uniform(-half, half, (num_cells, 2)), sigma_m, dog, surround_scale)

    @property
    def num_cells(self) -> int:
        return self.centres.shape[0]

    def activation(self, position: np.ndarray) -> np.ndarray:
        """Targets [..., N] (float32) at positions [..., 2]; each row sums to one (see the module docstring).
        Computed in float32 with torch: it is most of the cost of a training batch."""
        pos = torch.as_tensor(position, dtype=torch.float32)
        centres = torch.as_tensor(self.centres, dtype=torch.float32)
        sq = (pos.reshape(-1, 2)[:, None, :] - centres).square().sum(-1)
        out = torch.softmax(-sq / (2 * self.sigma_m**2), dim=-1)
        if self.dog:
            out = out - torch.softmax(-sq / (2 * self.surround_scale * self.sigma_m**2), dim=-1)
            out = out - out.min(dim=-1, keepdim=True).values
            out = out / out.sum(dim=-1, keepdim=True)
        return out.reshape(*position.shape[:-1], -1).numpy()

    def decode(self, activation: np.ndarray, k: int = 3) -> np.ndarray:
        """Positions [..., 2]: the mean centre of the k most active cells (Sorscher's `decode_position`)."""
        top = np.argpartition(-activation, k - 1, axis=-1)[..., :k]
        return self.centres[top].mean(axis=-2)


@dataclass(frozen=True)
class HeadDirectionCells:
    """`preferred` [N] directions in radians, `concentration` κ of the von Mises tuning."""

    preferred: np.ndarray
    concentration: float = 20.0

    @classmethod
    def uniform(cls, num_cells: int, concentration: float, rng: np.random.Generator) -> HeadDirectionCells:
        if num_cells < 1 or concentration <= 0:
            raise ValueError(f"need num_cells >= 1 and concentration > 0; got {num_cells}, {concentration}")
        return cls(rng.uniform(-np.pi, np.pi, num_cells), concentration)

    @property
    def num_cells(self) -> int:
        return self.preferred.shape[0]

    def activation(self, heading: np.ndarray) -> np.ndarray:
        """Targets [..., N] at headings [...] (rad): softmax of κ cos(h − μ_i); each row sums to one."""
        return softmax(self.concentration * np.cos(heading[..., None] - self.preferred))
