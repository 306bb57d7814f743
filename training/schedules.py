"""The run's schedules, all functions of the agent-step count the trainer keeps, and the one
frames → agent steps conversion.

The trainer owns the step count, so it evaluates every schedule and hands the value to its user:
ε to `Agent.act`, the importance-sampling exponent β to the replay's `set_beta`.
"""

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


def linear_beta(step: int, *, start: float, end: float, anneal_steps: int) -> float:
    """Prioritized replay's IS exponent β after `step` agent steps: linear from `start` to `end` over
    `anneal_steps`, then flat (Schaul et al. 2016, Sec. 3.4: annealed to 1 by the end of learning)."""
    if anneal_steps <= 0:
        return end
    fraction = min(max(step / anneal_steps, 0.0), 1.0)
    return start + fraction * (end - start)
