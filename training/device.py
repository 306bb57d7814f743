"""Where the run computes: the training device and whether the env steps during the updates."""

from __future__ import annotations

import os

import torch


def resolve_device(name: str) -> torch.device:
    """`auto` → the first CUDA device when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def overlap_env(setting: str, device: torch.device) -> bool:
    """Whether the env steps while the agent updates (`trainer.overlap`: "on" | "off" | "auto").

    "auto" overlaps on a GPU (the update there is kernel launches, and the env's worker threads have
    the host cores) and on a CPU with more usable cores than torch's threads. With the update on
    every core (torch's default), the env's worker thread would only take cores from it.
    """
    if setting != "auto":
        return setting == "on"
    return device.type == "cuda" or available_cores() > torch.get_num_threads()


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    sched_getaffinity = getattr(os, "sched_getaffinity", None)
    return len(sched_getaffinity(0)) if sched_getaffinity is not None else os.cpu_count() or 1
