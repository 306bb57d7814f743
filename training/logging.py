"""Scalar logging to TensorBoard and `metrics.jsonl`, both indexed by emulator frames.

`metrics.jsonl` holds one JSON object per record, `{"frames": F, "time": T, "<tag>": value, ...}`;
the analysis package reads it, so tags are the same in both sinks. Tags: `train/episode_return`,
`train/hns`, `eval/*`, `loss/*`, `q/mean`, `q/sd`, `perf/frames_per_s`, `perf/updates_per_s` and a few more
(`metric_tag` maps the agent's update metrics onto them).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from training.rundir import atomic_write_text

METRICS_FILE = "metrics.jsonl"


def metric_tag(key: str) -> str:
    """The log tag of an `Agent.update` metric: `loss` → `loss/td`, `<name>_loss` → `loss/<name>`,
    `q_<stat>` → `q/<stat>` (`q/mean`, `q/sd`), anything else → `agent/<key>`."""
    if key == "loss":
        return "loss/td"
    if key.endswith("_loss"):
        return f"loss/{key[: -len('_loss')]}"
    if key.startswith("q_"):
        return f"q/{key[len('q_'):]}"
    return f"agent/{key}"


class MetricLogger:
    """Writes scalars (and histograms to TensorBoard) for one run directory."""

    def __init__(self, run_dir: Path, *, tensorboard: bool = True, jsonl: bool = True,
                 purge_after_frames: int | None = None) -> None:
        """purge_after_frames: on a resume, the checkpoint's frame count: records logged after it (by
        the run that was killed or stopped) are dropped from both sinks (TensorBoard's `purge_step`)."""
        self.run_dir = Path(run_dir)
        self._writer = None
        if jsonl and purge_after_frames is not None:
            truncate_metrics(self.run_dir, purge_after_frames)
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            purge_step = None if purge_after_frames is None else int(purge_after_frames) + 1
            self._writer = SummaryWriter(log_dir=str(self.run_dir / "tb"), purge_step=purge_step)
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

    def hparams(self, config: Mapping[str, object], metrics: Sequence[str]) -> None:
        """Record the run's hyperparameters for TensorBoard's HParams plugin, in this run's own event file.

        `SummaryWriter.add_hparams` writes them into a new sibling run (a timestamped sub-dir), which
        splits one run in two in TensorBoard; here the experiment, session-start and session-end
        summaries go through the run's own FileWriter, so the plugin pairs them with the run's scalars
        `metrics` (tags logged by `scalars`, e.g. `eval/return`). `config` is nested; keys are flattened.
        """
        if self._writer is None:
            return
        from torch.utils.tensorboard.summary import hparams

        summaries = hparams(flatten_hparams(config), dict.fromkeys(metrics, 0.0))
        file_writer = self._writer._get_file_writer()
        for summary in summaries:
            file_writer.add_summary(summary)
        file_writer.flush()

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


def truncate_metrics(run_dir: Path, max_frames: int) -> int:
    """Atomically drop `metrics.jsonl` records after `max_frames` (and torn lines); returns how many."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return 0
    num_lines = len(path.read_text(encoding="utf-8").splitlines())
    kept = [record for record in read_metrics(run_dir) if record.get("frames", max_frames + 1) <= max_frames]
    if len(kept) != num_lines:
        atomic_write_text(path, "".join(json.dumps(record) + "\n" for record in kept))
    return num_lines - len(kept)


def flatten_hparams(config: Mapping[str, object], prefix: str = "") -> dict[str, bool | int | float | str]:
    """Nested config → `{"agent.optim.lr": 5e-05, ...}` with values the HParams plugin accepts.

    Numbers, strings and booleans stay; None becomes "none" and lists their string form, so every key
    shows up (the plugin drops None and rejects lists).
    """
    flat: dict[str, bool | int | float | str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_hparams(value, prefix=f"{name}."))
        elif value is None:
            flat[name] = "none"
        elif isinstance(value, bool | int | float | str):
            flat[name] = value
        else:
            flat[name] = str(list(value) if isinstance(value, tuple) else value)
    return flat


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
