"""The scalar metrics of every update, kept on the device until a log drains them, and the
non-finite check that stops a run before a poisoned update reaches a checkpoint."""

from __future__ import annotations

import torch
from torch import Tensor


class NonFiniteError(RuntimeError):
    """A loss, gradient norm or Q-value became NaN or infinite."""


class UpdateMetrics:
    """The scalar metrics of every update since the last log, kept on the device as one tensor.

    `record` writes update i's metrics into row i of a preallocated [rows, K] float32 tensor with a
    single `torch.stack(..., out=)` (no host sync; the rows double when full), so one update costs
    one small device op here instead of a dozen (per-key sums plus a non-finite watch).
    `check` (one host sync) raises NonFiniteError naming the earliest update since the last check
    with a non-finite metric; `drain` checks, returns the window's mean of each metric, and starts a
    new window.
    """

    def __init__(self, device: torch.device, rows: int = 1024) -> None:
        self.device = device
        self.keys: list[str] | None = None
        self._rows = rows
        self._values: Tensor | None = None
        self._count = 0  # rows of the current window written
        self._checked = 0  # rows of the current window already checked
        self._first_update = 0  # update index (0-based) of row 0

    def __len__(self) -> int:
        return self._count

    def record(self, metrics: dict[str, Tensor], update: int) -> None:
        """Record update `update`'s (0-based) scalar metrics; the same keys every call."""
        if self.keys is None:
            self.keys = list(metrics)
        elif list(metrics) != self.keys:
            raise ValueError(f"update metrics changed from {self.keys} to {list(metrics)}")
        if self._values is None or self._count == self._values.shape[0]:
            grown = torch.empty((max(self._rows, 2 * self._count), len(self.keys)), dtype=torch.float32,
                                device=self.device)
            if self._values is not None:
                grown[: self._count].copy_(self._values[: self._count])
            self._values = grown
        if self._count == 0:
            self._first_update = update
        torch.stack([metrics[k] for k in self.keys], out=self._values[self._count])
        self._count += 1

    def check(self, frames: int) -> None:
        """Raise NonFiniteError if an update recorded since the last check had a non-finite metric."""
        if self._values is None or self._checked == self._count:
            return
        rows = self._values[self._checked : self._count]
        bad = ~torch.isfinite(rows)  # [R, K]
        bad_rows = bad.any(1)
        if bool(bad_rows.any()):
            first_row = int(bad_rows.int().argmax())
            first_keys = bad[first_row].tolist()
            key = self.keys[first_keys.index(True)]  # ties: the first metric, "loss"
            others = sorted({k for k, b in zip(self.keys, bad.any(0).tolist(), strict=True) if b} - {key})
            also = f" (also non-finite since: {', '.join(others)})" if others else ""
            update = self._first_update + self._checked + first_row
            raise NonFiniteError(f"non-finite {key} at update {update + 1} (checked at frame {frames}){also}; "
                                 "the newest checkpoint predates it")
        self._checked = self._count

    def drain(self, frames: int) -> dict[str, float]:
        """Check, then {key: mean over the window's updates} ({} if none), and start a new window."""
        if self._count == 0:
            return {}
        self.check(frames)
        means = self._values[: self._count].mean(0).tolist()
        self._count = self._checked = 0
        return dict(zip(self.keys, means, strict=True))
