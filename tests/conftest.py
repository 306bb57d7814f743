"""Shared test setup: torch threads and the config composition helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from training.config import compose_config, train_config

# Two torch threads (the CI machine's cores); one per process when pytest-xdist runs two workers.
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else 2)


def compose_train(overrides: list[str], return_hydra_config: bool = False):
    """Compose `configs/train.yaml` with `overrides` exactly as `train.py` would."""
    return compose_config(overrides, return_hydra_config=return_hydra_config)


__all__ = ["compose_train", "train_config"]


@pytest.fixture
def runs_root(tmp_path: Path) -> Path:
    return tmp_path / "runs"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first (the order is otherwise kept). With `make test`'s two xdist workers fed one test
    at a time (`--maxschedchunk 1`), the long CartPole learning tests start early and the quick tests
    fill the other worker, instead of the last learning test running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
