"""Agent tests run torch on one thread: their networks are tiny, and on a shared 2-core machine a
second intra-op thread makes them many times slower while the other core is busy."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
