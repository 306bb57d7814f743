"""Scalar logging to TensorBoard and `metrics.jsonl`, both indexed by emulator frames.

`metrics.jsonl` holds one JSON object per record, `{"frames": F, "time": T, "<tag>": value, ...}`;
the analysis package reads it, so tags are the same in both sinks (DESIGN.md's list).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

METRICS_FILE = "metrics.jsonl"


class MetricLogger:
    """Writes scalars (and histograms to TensorBoard) for one run directory."""

    def __init__(self, run_dir: Path, *, tensorboard: bool = True, jsonl: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self._writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.run_dir / "tb"))
        self._jsonl = open(self.run_dir / METRICS_FILE, "a", encoding="utf-8") if jsonl else None  # noqa: SIM115

    def scalars(self, frames: int, values: Mapping[str, float]) -> None:
        """Log `values` at x = `frames`; non-finite values are written as null in JSON."""
        record: dict[str, float | int | None] = {"frames": int(frames), "time": time.time()}
        for tag, value in values.items():
            value = float(value)
            record[tag] = value if math.isfinite(value) else None
            if self._writer is not None:
                self._writer.add_scalar(tag, value, global_step=int(frames))
        if self._jsonl is not None:
            self._jsonl.write(json.dumps(record) + "\n")
            self._jsonl.flush()

    def histogram(self, frames: int, tag: str, values: np.ndarray, bins: int | str = "auto") -> None:
        if self._writer is not None:
            self._writer.add_histogram(tag, values, global_step=int(frames), bins=bins)

    def text(self, tag: str, text: str) -> None:
        if self._writer is not None:
            self._writer.add_text(tag, text)

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None


def read_metrics(run_dir: Path) -> list[dict]:
    """All records of a run's `metrics.jsonl` (a torn last line from a kill is skipped)."""
    path = Path(run_dir) / METRICS_FILE
    records = []
    if not path.exists():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
