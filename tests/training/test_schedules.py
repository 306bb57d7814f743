"""Unit conversions and schedules, against hand-computed values."""

import pytest

from training.logging import metric_tag
from training.schedules import frames_to_steps, linear_beta, linear_epsilon


def test_frames_to_steps_is_the_one_conversion():
    assert frames_to_steps(40_000, 4) == 10_000
    assert frames_to_steps(500, 1) == 500


def test_linear_epsilon():
    kwargs = dict(start=1.0, end=0.1, decay_steps=100, warmup_steps=50)
    assert linear_epsilon(0, **kwargs) == 1.0
    assert linear_epsilon(50, **kwargs) == 1.0
    assert abs(linear_epsilon(100, **kwargs) - 0.55) < 1e-12
    assert abs(linear_epsilon(150, **kwargs) - 0.1) < 1e-12
    assert abs(linear_epsilon(10_000, **kwargs) - 0.1) < 1e-12


def test_linear_beta():
    kwargs = dict(start=0.4, end=1.0, anneal_steps=100)
    assert linear_beta(0, **kwargs) == 0.4
    assert linear_beta(50, **kwargs) == pytest.approx(0.7)
    assert linear_beta(10**9, **kwargs) == 1.0
    assert linear_beta(5, start=0.4, end=1.0, anneal_steps=0) == 1.0


def test_metric_tags_follow_the_log_tags():
    assert metric_tag("loss") == "loss/td"
    assert metric_tag("fraction_loss") == "loss/fraction"
    assert metric_tag("q_mean") == "q/mean"
    assert metric_tag("q_sd") == "q/sd"
