"""UpdateMetrics: per-update metrics kept on the device, window means and the non-finite check."""

from __future__ import annotations

import math

import pytest
import torch

from training.metrics import NonFiniteError, UpdateMetrics


def metrics(loss: float, grad_norm: float, q_mean: float) -> dict[str, torch.Tensor]:
    return {"loss": torch.tensor(loss), "grad_norm": torch.tensor(grad_norm), "q_mean": torch.tensor(q_mean)}


def test_window_means_match_hand_values_and_windows_restart():
    watch = UpdateMetrics(torch.device("cpu"), rows=2)  # 2 rows: the third record grows the tensor
    for update, (loss, norm, q) in enumerate([(1.0, 10.0, -1.0), (2.0, 20.0, 0.0), (6.0, 30.0, 4.0)]):
        watch.record(metrics(loss, norm, q), update)
    assert len(watch) == 3
    assert watch.drain(frames=12) == pytest.approx({"loss": 3.0, "grad_norm": 20.0, "q_mean": 1.0})
    assert len(watch) == 0 and watch.drain(frames=12) == {}
    watch.record(metrics(5.0, 1.0, 2.0), 3)
    assert watch.drain(frames=16) == pytest.approx({"loss": 5.0, "grad_norm": 1.0, "q_mean": 2.0})


def test_check_names_the_earliest_non_finite_update_and_metric():
    watch = UpdateMetrics(torch.device("cpu"), rows=4)
    for update in range(10):  # first window: updates 0..9, all finite
        watch.record(metrics(1.0, 1.0, 1.0), update)
    watch.check(frames=40)
    assert watch.drain(frames=40)["loss"] == 1.0
    values = {12: (1.0, math.inf, 1.0), 14: (math.nan, 1.0, math.nan), 15: (math.nan, 1.0, 1.0)}
    for update in range(10, 17):  # second window: update 12 (0-based) is the first bad one
        watch.record(metrics(*values.get(update, (1.0, 1.0, 1.0))), update)
    with pytest.raises(NonFiniteError, match=r"non-finite grad_norm at update 13 \(checked at frame 68\) "
                                             r"\(also non-finite since: loss, q_mean\)"):
        watch.check(frames=68)


def test_check_before_a_checkpoint_covers_only_new_updates_and_ties_go_to_loss():
    watch = UpdateMetrics(torch.device("cpu"))
    watch.record(metrics(1.0, 2.0, 3.0), 0)
    watch.check(frames=4)  # the checkpoint's check: fine
    watch.record(metrics(math.inf, math.inf, 3.0), 1)
    with pytest.raises(NonFiniteError, match=r"non-finite loss at update 2 .*also non-finite since: grad_norm"):
        watch.drain(frames=8)


def test_changed_keys_are_refused():
    watch = UpdateMetrics(torch.device("cpu"))
    watch.record(metrics(1.0, 2.0, 3.0), 0)
    with pytest.raises(ValueError, match="update metrics changed"):
        watch.record({"loss": torch.tensor(1.0)}, 1)
