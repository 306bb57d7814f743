"""Replay tests run torch on one thread: the sampled tensors are small, and on a shared 2-core
machine a second OpenMP thread makes every index_select ~100x slower while the other core is busy."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
