"""Schedules and unit conversions. Agent steps are the unit of every agent-side period."""

from __future__ import annotations


def frames_to_steps(frames: int, frames_per_step: int) -> int:
    """Emulator frames → agent steps (one agent step = `frames_per_step` frames; 4 on Atari)."""
    return frames // frames_per_step


def linear_epsilon(step: int, *, start: float, end: float, decay_steps: int, warmup_steps: int) -> float:
    """ε-greedy schedule: `start` through warm-up, then linear to `end` over `decay_steps` agent steps."""
    if step < warmup_steps:
        return start
    if decay_steps <= 0:
        return end
    fraction = min(1.0, (step - warmup_steps) / decay_steps)
    return start + fraction * (end - start)

