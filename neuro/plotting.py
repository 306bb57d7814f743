"""What every study's figures share: matplotlib on the Agg backend, saving a figure, strict JSON of its numbers.

A study's `figures` module draws its own panels and writes, beside its PNGs, a JSON of every number they
show (`write_json`), so a figure can be checked without reading pixels.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

__all__ = ["to_json", "write_json", "save_figure"]


def to_json(value: Any) -> Any:
    """Numpy arrays and scalars to lists and floats, non-finite floats to None (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, np.generic):
        return to_json(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(data: dict[str, Any], path: Path) -> Path:
    """`data` as indented strict JSON at `path` (see `to_json`); returns `path`."""
    path.write_text(json.dumps(to_json(data), indent=1, allow_nan=False) + "\n")
    return path


def save_figure(fig: plt.Figure, path: Path, dpi: int) -> Path:
    """Save `fig` to `path` at `dpi` and close it (a study draws many; open figures hold their memory)."""
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
