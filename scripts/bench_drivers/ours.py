"""End-to-end agent steps/s of our trainer in its learning phase (runs in the project's venv).

    python scripts/bench_drivers/ours.py --agent dqn|c51|qrdqn|iqn|fqf [--num-envs 1] [--device cpu]

Runs the real `training.loop.Trainer` (what `train.py agent=<name> env.game=pong` runs: acting,
env, replay writes, sampling, updates, target syncs, logging) with the paper settings of
`configs/agent/<name>.yaml`, except: ε fixed at `--epsilon`, learning after `--warmup-steps`,
`replay.capacity=--replay-size`, no evaluation or checkpoint inside the window.

Interleaved timing (`InterleavedClock`): after the skipped steps, the driver alternates segments of
the real loop (`--segment-seconds`) with segments of back-to-back updates from the run's own agent
and replay (`--update-segment-seconds`; sample + update, as the loop's updates do), until the loop
segments add up to `--measure-seconds`. The end-to-end rate counts only loop segments; the
update-only cost is the median back-to-back update. Both halves of the ratio thus see the same
stretch of machine time, so drift (this machine's load moves rates by tens of percent over a minute)
cancels in the ratio. The extra updates change the agent, not the speed being measured.

Where the loop's time goes: inside loop segments, `act`, the env step (send + wait), the replay
write, sampling, the update and the per-update bookkeeping (priorities, metrics) are timed; the rest
of the loop (ε, counters, logging, Python) is "other". Emitted as ms per update.

The driver prints one JSON line and ends the process at once (`os._exit`: the run dir under
`--workdir` is scratch).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import torch
from common import FRAMES_PER_STEP, GAME, add_common_args, emit, peak_rss_bytes

from training.config import train_config
from training.loop import Trainer

# (phase label, attribute path on the trainer, method name)
PHASES = (("act", "agent", "act"), ("env", "env", "step_async"), ("env", "env", "step_wait"),
          ("replay add", "replay", "add"), ("sample", "replay", "sample"), ("update", "agent", "update"),
          ("bookkeeping", "replay", "update_priorities"), ("bookkeeping", "update_metrics", "record"))


def overrides(args: argparse.Namespace, workdir: str) -> list[str]:
    """The Hydra overrides of the benchmark run."""
    never = 10**12
    return [
        f"agent={args.agent}", "env=atari", f"env.game={args.game}", f"env.num_envs={args.num_envs}",
        f"replay.capacity={args.replay_size}", f"agent.batch_size={args.batch_size}",
        f"agent.train_period_steps={args.train_period_steps}", f"agent.warmup_steps={args.warmup_steps}",
        f"agent.epsilon.start={args.epsilon}", f"agent.epsilon.end={args.epsilon}",
        f"trainer.total_frames={never}", f"trainer.eval_period_frames={never}",
        f"trainer.checkpoint_period_frames={never}", f"trainer.torch_threads={args.threads}",
        f"trainer.device={args.device}", "trainer.progress=false", f"seed={args.seed}", f"runs_root={workdir}",
        *args.override,
    ]


class InterleavedClock:
    """Alternates loop segments and update segments; see the module docstring.

    `tick(agent_steps)` is called once per vector step of the loop, with the agent steps done so far.
    It returns "loop" (go on looping), "updates" (run an update segment now, then call `resume`), or
    "done".
    """

    def __init__(self, start_step: int, measure_seconds: float, segment_seconds: float,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.start_step = start_step
        self.measure_seconds = measure_seconds
        self.segment_seconds = segment_seconds
        self.clock = clock
        self.loop_seconds = 0.0
        self.loop_steps = 0
        self.segments = 0
        self._segment_start: tuple[float, int] | None = None  # (time, agent steps) of the open segment

    @property
    def timing(self) -> bool:
        """Inside a timed loop segment."""
        return self._segment_start is not None

    def tick(self, agent_steps: int) -> str:
        now = self.clock()
        if self._segment_start is None:
            if self.segments == 0 and agent_steps >= self.start_step:
                self._segment_start = (now, agent_steps)
            return "loop"
        t0, steps0 = self._segment_start
        if now - t0 < self.segment_seconds and self.loop_seconds + (now - t0) < self.measure_seconds:
            return "loop"
        self.loop_seconds += now - t0
        self.loop_steps += agent_steps - steps0
        self.segments += 1
        self._segment_start = None
        return "done" if self.loop_seconds >= self.measure_seconds else "updates"

    def resume(self, agent_steps: int) -> None:
        """The update segment is over: the next loop segment starts now."""
        self._segment_start = (self.clock(), agent_steps)

    def result(self) -> dict[str, float]:
        """{"steps_per_s", "steps", "seconds", "segments"} over the loop segments."""
        rate = self.loop_steps / self.loop_seconds if self.loop_seconds > 0 else 0.0
        return {"steps_per_s": rate, "steps": self.loop_steps, "seconds": self.loop_seconds,
                "segments": self.segments}


class PhaseTimer:
    """Accumulates the wall time of the trainer's phases while `clock.timing` (loop segments only)."""

    def __init__(self, trainer: Trainer, clock: InterleavedClock) -> None:
        self.seconds: dict[str, float] = {label: 0.0 for label, _, _ in PHASES}
        self.calls: dict[str, int] = {label: 0 for label, _, _ in PHASES}
        self.clock = clock
        for label, owner, name in PHASES:
            obj = getattr(trainer, owner)
            setattr(obj, name, self._timed(label, getattr(obj, name)))

    def _timed(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not self.clock.timing:
                return fn(*args, **kwargs)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - t0
                self.calls[label] += 1
        return timed

    def per_update_ms(self, loop_seconds: float) -> dict[str, float]:
        """ms per timed update of each phase and "other" (the loop's time no phase accounts for)."""
        updates = self.calls["update"]
        if updates == 0:
            return {}
        out = {label: 1e3 * seconds / updates for label, seconds in self.seconds.items()}
        out["other"] = 1e3 * (loop_seconds - sum(self.seconds.values())) / updates
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--num-envs", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workdir", default=None, help="scratch dir for the run dir (default: a new temp dir)")
    parser.add_argument("--segment-seconds", type=float, default=1.5, help="length of one timed loop segment")
    parser.add_argument("--update-segment-seconds", type=float, default=0.75,
                        help="back-to-back updates after each loop segment (at least 3 updates)")
    parser.add_argument("--override", nargs="*", default=[], help="extra Hydra overrides, e.g. agent.compile=optimizer")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench-ours-")
    trainer = Trainer(train_config(overrides(args, workdir)))
    clock = InterleavedClock(args.warmup_steps + args.skip_steps, args.measure_seconds, args.segment_seconds)
    phases = PhaseTimer(trainer, clock)  # wraps the methods first: update segments call them untimed
    update_ms: list[float] = []
    step_async = trainer.env.step_async

    def step_async_with_clock(actions: Any) -> None:
        state = clock.tick(trainer.counters.agent_steps)
        if state == "done":
            raise WindowDone
        if state == "updates":
            update_ms.extend(back_to_back_update_ms(trainer, args.update_segment_seconds))
            clock.resume(trainer.counters.agent_steps)
        step_async(actions)

    trainer.env.step_async = step_async_with_clock  # the clock reads the counter once per vector step
    try:
        trainer.train()
    except WindowDone:
        pass
    else:
        raise SystemExit("the trainer stopped before the timing window was complete")
    result = clock.result()
    emit({"framework": "ours", "agent": args.agent, "game": args.game or GAME, "num_envs": args.num_envs,
          "device": args.device, **result, "frames_per_s": result["steps_per_s"] * FRAMES_PER_STEP,
          "peak_rss_bytes": peak_rss_bytes(), "update_ms": statistics.median(update_ms) if update_ms else None,
          "update_ms_all": update_ms, "updates_in_loop": phases.calls["update"],
          "phases_ms_per_update": phases.per_update_ms(result["seconds"])})
    os._exit(0)


class WindowDone(Exception):  # noqa: N818 (a signal to stop the loop, not an error)
    """Raised from inside the loop once the timing window is complete."""


def back_to_back_update_ms(trainer: Trainer, seconds: float, min_updates: int = 3) -> list[float]:
    """ms of each sample + update, back to back for `seconds` (at least `min_updates`), from the run's
    own replay and agent: the loop's update-only cost at this moment."""
    sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)
    times: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < min_updates:
        t0 = time.perf_counter()
        trainer.agent.update(trainer.replay.sample())
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


if __name__ == "__main__":
    main()
