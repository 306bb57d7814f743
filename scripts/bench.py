"""Every speed figure of the project in one command, written to BENCHMARKS.md (issue 6).

    python scripts/bench.py --setup-peers            # once: .bench-venv/ with SB3, sb3-contrib, Tianshou
    python scripts/bench.py                          # full run, ~25-30 minutes on 2 cores -> BENCHMARKS.md
    python scripts/bench.py --quick --out /tmp/B.md  # ~3-minute smoke run of the same code paths
    python scripts/bench.py --gpu-only               # the GPU figures alone, ~7 minutes -> BENCHMARKS-GPU.md

Measured in one invocation, on one machine, with a progress bar:
- env throughput: our `AtariEnv` against raw ale-py `AtariVectorEnv` with the same options;
- update time per agent (batch 32, Nature CNN, the paper settings of configs/agent/*.yaml) on
  batches sampled from a replay of random frames, agents interleaved round by round, and the
  `agent.compile=optimizer` update (the one our end-to-end runs use) and the `agent.compile=update` one
  (every agent; `--quick` compiles only the first; `--no-compile` skips it);
- acting time per vector step (1 and 8 envs);
- replay: write time per vector step, sample time (batch 32; uniform 3-step and 1-step, prioritized
  with `update_priorities`), and in a fresh process a 1M-transition buffer (100k with `--quick`):
  storage, write and sample times, and the process's peak RSS against the storage;
- end-to-end agent steps/s in the learning phase (Pong, 1 env, batch 32, one update per 4 agent steps,
  replay of 100k transitions on both sides, ε fixed at 0.01) of our trainer (also with 8 envs) and of
  the peers —
  Stable-Baselines3 DQN, sb3-contrib QR-DQN, Tianshou C51, QR-DQN, IQN and FQF — each a driver
  process (scripts/bench_drivers/), ours in this venv, the peers in `.bench-venv/`, alternating ours
  and theirs (the order flips every repeat) over `--repeats` repeats so machine drift cancels;
- on a CUDA machine: update and act time per agent on the GPU, end-to-end frames/s with 8 and 64 envs
  (and IQN with `agent.compile=update` at 64) and the projected wall-clock of 200M frames per agent;
  `--gpu-only` measures just these (scripts/offline_wheels.sh fetches what an offline GPU box lacks).

Medians with their spread (min–max over repeats or calls), the ratio ours/peer per agent, and each
target of issue 6 with whether it is met. A script, not a test: figures move with machine load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts" / "bench_drivers"))

from common import RESULT_PREFIX, make_atari_env  # noqa: E402

from agents import HEADS, build_agent  # noqa: E402
from replay import build_replay  # noqa: E402
from training.allocator import keep_freed_memory  # noqa: E402
from training.config import train_config  # noqa: E402

DRIVERS = ROOT / "scripts" / "bench_drivers"
PEER_VENV = ROOT / ".bench-venv"
# The peers' versions are pinned so that every run compares against the same code.
PEER_PACKAGES = ["stable-baselines3==2.9.2", "sb3-contrib==2.9.2", "tianshou==2.0.1", "ale-py==0.12.1",
                 "gymnasium>=1.0,<2"]
BASE_AGENTS = ["dqn", "c51", "qrdqn", "iqn", "fqf"]
NUM_ACTIONS = 6  # Pong's minimal action set
# (driver, agent) pairs of the peers; the label is the framework's own name for the algorithm.
PEERS: dict[str, list[tuple[str, str]]] = {
    "dqn": [("sb3_peer.py", "SB3 DQN")],
    "c51": [("tianshou_peer.py", "Tianshou C51")],
    "qrdqn": [("sb3_peer.py", "sb3-contrib QR-DQN"), ("tianshou_peer.py", "Tianshou QR-DQN")],
    "iqn": [("tianshou_peer.py", "Tianshou IQN")],
    "fqf": [("tianshou_peer.py", "Tianshou FQF")],
}
# The settings of our end-to-end runs beyond the paper ones: the compiled optimizer step (what a user
# passes for speed; the update-only rate below is measured with it too). trainer.overlap stays `auto`.
OURS_COMPILE = "optimizer"
OURS_E2E_OVERRIDES = [f"agent.compile={OURS_COMPILE}"]
COMPILE_MODES = ("none", "optimizer", "update")
MULTI_ENV = 8  # our second end-to-end setting: 8 envs (2 updates per vector step)
TARGET_PEER_RATIO = 1.3
TARGET_UPDATE_SHARE = 0.9
TARGET_REPLAY_BYTES = 7.2e9
TARGET_SAMPLE_SHARE = 0.05
TARGET_PEAK_OVER_BUFFER = 1.3
GPU_FRAMES = 200_000_000
GPU_TARGET_HOURS_IQN = 12.0
GPU_ENVS = (8, 64)  # the GPU end-to-end runs of every agent, eager
GPU_COMPILED = (("iqn", "update", 64),)  # and these (agent, agent.compile, envs): the target agent, compiled


@dataclass(frozen=True)
class Plan:
    """How long each measurement runs: `--quick` shrinks every one, the code paths stay the same."""

    env_seconds: float
    update_rounds: int
    updates_per_round: int
    act_calls: int
    sample_calls: int
    replay_capacity: int
    e2e_repeats: int
    e2e_warmup_steps: int
    e2e_skip_steps: int
    e2e_seconds: float
    e2e_replay: int

    @staticmethod
    def make(quick: bool) -> Plan:
        if quick:
            return Plan(env_seconds=1.0, update_rounds=1, updates_per_round=4, act_calls=10, sample_calls=100,
                        replay_capacity=100_000, e2e_repeats=1, e2e_warmup_steps=300, e2e_skip_steps=8,
                        e2e_seconds=3.0, e2e_replay=100_000)
        return Plan(env_seconds=4.0, update_rounds=3, updates_per_round=7, act_calls=30, sample_calls=1000,
                    replay_capacity=1_000_000, e2e_repeats=3, e2e_warmup_steps=1_000, e2e_skip_steps=40,
                    e2e_seconds=12.0, e2e_replay=100_000)


@dataclass
class Results:
    """Everything measured; `write_markdown` renders it."""

    machine: dict[str, str] = field(default_factory=dict)
    env: dict[str, dict[int, float]] = field(default_factory=dict)  # "ours"/"ale-py" -> envs -> steps/s
    update_ms: dict[str, list[float]] = field(default_factory=dict)  # update_label(agent, mode) -> times
    act_ms: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    replay_small: dict[str, float] = field(default_factory=dict)
    replay_big: dict[str, Any] = field(default_factory=dict)
    e2e: dict[str, list[float]] = field(default_factory=dict)  # label -> steps/s per repeat
    e2e_by_repeat: dict[str, dict[int, float]] = field(default_factory=dict)  # label -> repeat -> steps/s
    e2e_rss: dict[str, list[int]] = field(default_factory=dict)
    e2e_update_ms: dict[str, list[float]] = field(default_factory=dict)  # ours: back-to-back update, same process
    e2e_share: dict[str, list[float]] = field(default_factory=dict)  # ours: e2e rate / update-only rate, per run
    e2e_phases: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # ours: ms per update per phase
    gpu: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --- helpers --------------------------------------------------------------------------------------------
def median_spread(values: list[float]) -> tuple[float, float, float]:
    """(median, min, max) of a non-empty list."""
    return statistics.median(values), min(values), max(values)


def fmt_spread(values: list[float], digits: int = 1) -> str:
    """'median (min–max)', or '—' for no values."""
    if not values:
        return "—"
    med, lo, hi = median_spread(values)
    if len(values) == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def met(ok: bool | None) -> str:
    """The 'met' column: yes / **no** / n/a."""
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def timed_ms(fn: Callable[[], Any], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def run_driver(python: Path | str, script: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Run a driver process and return its result line (raises with its output tail on failure)."""
    cmd = [str(python), str(DRIVERS / script), *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    tail = (proc.stdout + proc.stderr)[-2000:]
    raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode} without a result:\n{tail}")


def peer_python() -> Path:
    return PEER_VENV / "bin" / "python"


def setup_peers() -> None:
    """Create .bench-venv/ with torch==2.13.0 (the CPU build, first, so no CUDA build is pulled) and
    the pinned peers. Never touches the project's own venv."""
    if not peer_python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    pip = [str(peer_python()), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "torch==2.13.0"], check=True)
    subprocess.run([*pip, *PEER_PACKAGES], check=True)
    print(subprocess.run([str(peer_python()), "-c", PEER_VERSIONS], capture_output=True, text=True).stdout)


PEER_VERSIONS = ("import stable_baselines3, sb3_contrib, tianshou, torch; print(f'stable-baselines3 "
                 "{stable_baselines3.__version__}, sb3-contrib {sb3_contrib.__version__}, tianshou "
                 "{tianshou.__version__}, torch {torch.__version__}')")


def machine_info(device: torch.device) -> dict[str, str]:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        mem_gib = f"{int(mem.split()[1]) / 2**20:.0f} GiB"
    except (OSError, StopIteration):
        mem_gib = "unknown"
    import ale_py

    info = {
        "cpu": f"{cpu}, {os.cpu_count()} cores", "memory": mem_gib, "os": platform.platform(),
        "python": platform.python_version(), "torch": torch.__version__, "ale-py": ale_py.__version__,
        "torch threads": str(torch.get_num_threads()),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
        "device measured": str(device),
    }
    if peer_python().exists():
        out = subprocess.run([str(peer_python()), "-c", PEER_VERSIONS], capture_output=True, text=True)
        info["peers"] = out.stdout.strip() or out.stderr.strip()[-200:]
    return info


# --- measurements ---------------------------------------------------------------------------------------
def env_rate(kind: str, num_envs: int, seconds: float) -> float:
    """Agent steps/s of random play: "ours" (AtariEnv.step) or "ale-py" (AtariVectorEnv.step, same options)."""
    from ale_py.vector_env import AtariVectorEnv

    ours = make_atari_env(num_envs=num_envs, seed=0)
    rng = np.random.default_rng(0)
    if kind == "ours":
        env, step = ours, ours.step
        ours.reset()
    else:
        options = {k: v for k, v in ours.options().items() if k not in ("name", "seed")}
        ours.close()
        env = AtariVectorEnv(**options)
        env.reset(seed=np.arange(num_envs, dtype=np.int64))
        step = env.step
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        step(rng.integers(0, NUM_ACTIONS, num_envs))
        steps += num_envs
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


def random_frame_replay(agent_name: str, device: torch.device, kind: str = "uniform", n_step: int | None = None,
                        num_envs: int = 1, capacity: int = 10_000, steps: int = 2_000):
    """A small replay of random frames with episode ends, filled through `add`."""
    cfg = train_config([f"agent={agent_name}", f"replay={kind}", f"replay.capacity={capacity}"])
    replay = build_replay(cfg.replay, num_envs=num_envs, frame_shape=(84, 84), frame_dtype=torch.uint8, stack=4,
                          n_step=n_step or cfg.agent.n_step, gamma=cfg.agent.gamma,
                          reward_clip=cfg.agent.reward_clip, batch_size=cfg.agent.batch_size, device=device, seed=0)
    rng = np.random.default_rng(0)
    for t in range(steps):
        replay.add(rng.integers(0, 256, size=(num_envs, 84, 84), dtype=np.uint8), np.full(num_envs, t % 500 == 0),
                   rng.integers(0, NUM_ACTIONS, size=num_envs), rng.normal(size=num_envs).astype(np.float32),
                   np.zeros(num_envs, bool), np.zeros(num_envs, bool))
    return replay


def update_label(agent: str, mode: str = "none") -> str:
    """The key of an agent's update times under `agent.compile=mode` ("dqn", "dqn compile=optimizer")."""
    return agent if mode == "none" else f"{agent} compile={mode}"


def update_setups(agents: list[str], device: torch.device, mode: str = "none") -> dict[str, tuple]:
    setups = {}
    for name in agents:
        cfg = train_config([f"agent={name}", f"agent.compile={mode}"])
        agent = build_agent(cfg.agent, (4, 84, 84), NUM_ACTIONS, device, seed=0)
        replay = random_frame_replay(name, device)
        for _ in range(3):  # warm-up (and, compiled, the compilation itself)
            agent.update(replay.sample())
        setups[update_label(name, mode)] = (agent, replay)
    return setups


def measure_updates(setups: dict[str, tuple], plan: Plan, results: Results, act_envs: list[int],
                    device: torch.device, bar: tqdm) -> None:
    """Update and act times, agents interleaved round by round so drift spreads evenly."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(plan.update_rounds):
        for label, (agent, replay) in setups.items():
            bar.set_description(f"update {label}")

            def one_update(agent=agent, replay=replay) -> None:
                agent.update(replay.sample())
                sync()

            results.update_ms.setdefault(label, []).extend(timed_ms(one_update, plan.updates_per_round))
            if " compile=" in label:
                continue
            for num_envs in act_envs:
                obs = torch.randint(0, 256, (num_envs, 4, 84, 84), dtype=torch.uint8, device=device)

                def one_act(agent=agent, obs=obs) -> None:
                    agent.act(obs, 0.01).cpu()

                one_act()
                results.act_ms.setdefault((label, num_envs), []).extend(timed_ms(one_act, plan.act_calls))
        bar.update(1)


def measure_small_replay(plan: Plan, results: Results) -> None:
    """Write and sample times on a 100k buffer: uniform n=3, n=1, prioritized n=3 (+ update_priorities)."""
    for kind, n_step in (("uniform", 3), ("uniform", 1), ("prioritized", 3)):
        for num_envs in (1, 8):
            replay = random_frame_replay("dqn", torch.device("cpu"), kind=kind, n_step=n_step, num_envs=num_envs,
                                         capacity=100_000, steps=2_000)
            rng = np.random.default_rng(1)
            frames = rng.integers(0, 256, size=(num_envs, 84, 84), dtype=np.uint8)
            flags = np.zeros(num_envs, bool)
            actions = np.zeros(num_envs, np.int64)
            rewards = np.ones(num_envs, np.float32)
            add = timed_ms(lambda r=replay, f=frames, z=flags, a=actions, rw=rewards: r.add(f, z, a, rw, z, z), 500)
            results.replay_small[f"add {kind} n={n_step} E={num_envs}"] = statistics.median(add)
        results.replay_small[f"sample {kind} n={n_step}"] = statistics.median(timed_ms(replay.sample,
                                                                                      plan.sample_calls))
        if kind == "prioritized":
            priorities = torch.rand(replay.sample().index.shape[0])

            def sample_update(r=replay, p=priorities) -> None:
                r.update_priorities(r.sample().index, p)

            results.replay_small[f"sample+update_priorities {kind} n={n_step}"] = statistics.median(
                timed_ms(sample_update, plan.sample_calls))


def e2e_args(agent: str, plan: Plan, extra: list[str] | None = None) -> list[str]:
    return ["--agent", agent, "--replay-size", str(plan.e2e_replay), "--warmup-steps", str(plan.e2e_warmup_steps),
            "--skip-steps", str(plan.e2e_skip_steps), "--measure-seconds", str(plan.e2e_seconds), *(extra or [])]


def e2e_timeout(plan: Plan, agent: str) -> float:
    return 300 + 4 * plan.e2e_seconds + (300 if agent in ("iqn", "fqf") else 0)


def measure_e2e(agents: list[str], plan: Plan, results: Results, peers: bool, bar: tqdm) -> None:
    """Ours (1 env and MULTI_ENV envs) and the peers, alternating; the order within an agent flips
    every repeat."""
    overrides = ["--override", *OURS_E2E_OVERRIDES]
    for repeat in range(plan.e2e_repeats):
        for agent in agents:
            runs: list[tuple[str, Path | str, str, list[str]]] = []
            with tempfile.TemporaryDirectory(prefix="bench-e2e-") as workdir:
                runs.append((f"ours {agent}", sys.executable, "ours.py",
                             e2e_args(agent, plan, ["--workdir", workdir, *overrides])))
                runs.append((f"ours {agent} E={MULTI_ENV}", sys.executable, "ours.py",
                             e2e_args(agent, plan, ["--workdir", workdir, "--num-envs", str(MULTI_ENV), *overrides])))
                if peers:
                    runs += [(label, peer_python(), script, e2e_args(agent, plan))
                             for script, label in PEERS.get(agent, [])]
                if repeat % 2:
                    runs.reverse()
                for label, python, script, args in runs:
                    bar.set_description(f"e2e {label} (repeat {repeat + 1})")
                    try:
                        out = run_driver(python, script, args, e2e_timeout(plan, agent))
                        results.e2e.setdefault(label, []).append(out["steps_per_s"])
                        results.e2e_by_repeat.setdefault(label, {})[repeat] = out["steps_per_s"]
                        results.e2e_rss.setdefault(label, []).append(out["peak_rss_bytes"])
                        if out.get("update_ms"):
                            results.e2e_update_ms.setdefault(label, []).append(out["update_ms"])
                            results.e2e_share.setdefault(label, []).append(
                                out["steps_per_s"] / update_only_steps_per_s(out["update_ms"]))
                        if out.get("phases_ms_per_update"):
                            results.e2e_phases.setdefault(label, []).append(out["phases_ms_per_update"])
                    except (RuntimeError, subprocess.TimeoutExpired) as error:
                        results.notes.append(f"{label}, repeat {repeat + 1} failed: {str(error)[-600:]}")
                    bar.update(1)


def measure_gpu(agents: list[str], plan: Plan, results: Results, bar: tqdm, device: torch.device | None = None,
                env_counts: tuple[int, ...] = GPU_ENVS,
                compiled: tuple[tuple[str, str, int], ...] = GPU_COMPILED) -> None:
    """Update ms per agent, act ms, end-to-end runs with `env_counts` envs (and the `compiled` (agent, mode,
    envs) runs) on `device` (CUDA; tests pass the CPU), into `results.gpu`. A failed run becomes a note."""
    device = device or torch.device("cuda")
    setups = update_setups(agents, device)
    for agent, mode, _ in compiled:
        if agent in agents:
            setups.update(update_setups([agent], device, mode))
    gpu_results = Results()
    measure_updates(setups, plan, gpu_results, list(env_counts), device, bar)
    results.gpu["update_ms"] = gpu_results.update_ms
    results.gpu["act_ms"] = {f"{k[0]} E={k[1]}": v for k, v in gpu_results.act_ms.items()}
    results.gpu["env_counts"] = list(env_counts)
    results.gpu["e2e"] = {}
    runs = [(agent, "none", num_envs) for agent in agents for num_envs in env_counts]
    runs += [run for run in compiled if run[0] in agents]
    for agent, mode, num_envs in runs:
        label = f"{update_label(agent, mode)} E={num_envs}"
        bar.set_description(f"gpu e2e {label}")
        with tempfile.TemporaryDirectory(prefix="bench-gpu-") as workdir:
            args = e2e_args(agent, plan, ["--workdir", workdir, "--device", str(device), "--num-envs", str(num_envs),
                                          "--override", f"agent.compile={mode}"])
            try:
                out = run_driver(sys.executable, "ours.py", args, e2e_timeout(plan, agent) + (600 if mode != "none"
                                                                                              else 0))
                results.gpu["e2e"][label] = {key: out.get(key) for key in ("frames_per_s", "steps_per_s", "update_ms",
                                                                           "phases_ms_per_update")}
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                results.notes.append(f"GPU e2e {label} failed: {str(error)[-600:]}")
        bar.update(1)


def gpu_task_count(agents: list[str], plan: Plan) -> int:
    """Progress-bar steps of `measure_gpu`: its update rounds and its end-to-end runs."""
    return plan.update_rounds + len(agents) * len(GPU_ENVS) + sum(run[0] in agents for run in GPU_COMPILED)


def gpu_runs(results: Results, agent: str) -> dict[str, dict[str, Any]]:
    """The GPU end-to-end runs of `agent` (every compile mode and env count) that produced a rate."""
    return {label: run for label, run in results.gpu.get("e2e", {}).items()
            if label.split(" ")[0] == agent and run.get("frames_per_s")}


def gpu_best_hours(results: Results, agent: str) -> tuple[float, str] | None:
    """(hours for GPU_FRAMES frames, run label) at the fastest GPU end-to-end run of `agent`, or None."""
    runs = gpu_runs(results, agent)
    if not runs:
        return None
    label = max(runs, key=lambda k: runs[k]["frames_per_s"])
    return GPU_FRAMES / runs[label]["frames_per_s"] / 3600, label


# --- report ---------------------------------------------------------------------------------------------
def peer_ratio(results: Results, ours_label: str, peer_labels: list[str]) -> float | None:
    """ours / the fastest of `peer_labels`, per repeat (the runs of one repeat are back to back), the
    median over the repeats where ours and at least one peer ran: drift between repeats cancels."""
    ours = results.e2e_by_repeat.get(ours_label, {})
    ratios = []
    for repeat, rate in ours.items():
        theirs = [results.e2e_by_repeat.get(label, {}).get(repeat) for label in peer_labels]
        theirs = [t for t in theirs if t]
        if theirs:
            ratios.append(rate / max(theirs))
    return statistics.median(ratios) if ratios else None


def update_only_steps_per_s(update_ms: float, train_period_steps: int = 4) -> float:
    """Agent steps/s of a loop that did nothing but sample and update, one update per 4 agent steps."""
    return train_period_steps * 1e3 / update_ms


def update_only_rate(results: Results, label: str) -> float | None:
    """Update-only agent steps/s of the end-to-end run `label` ("ours dqn", "ours dqn E=8"): from the
    median of the back-to-back updates its driver timed between loop segments (same agent, replay and
    process), the median over repeats."""
    times = results.e2e_update_ms.get(label)
    return update_only_steps_per_s(statistics.median(times)) if times else None


def update_share(results: Results, label: str) -> float | None:
    """End-to-end rate / update-only rate of run `label`: each driver's own ratio (both halves timed in
    interleaved segments of the same process), the median over repeats."""
    shares = results.e2e_share.get(label)
    return statistics.median(shares) if shares else None


def share_bound(results: Results, agent: str, label: str, num_envs: int, train_period_steps: int = 4) -> float | None:
    """The most of the update-only rate run `label` could reach if the loop were the update plus the two
    steps it cannot skip, acting and the env step, each at its isolated cost from this run (the act
    table and the env table): update / (update + per-update act + per-update env)."""
    update = results.e2e_update_ms.get(label)
    act = results.act_ms.get((agent, num_envs))
    env_rate = results.env.get("ours", {}).get(num_envs)
    if not (update and act and env_rate):
        return None
    update_ms = statistics.median(update)
    per_update = statistics.median(act) * train_period_steps / num_envs + train_period_steps * 1e3 / env_rate
    return update_ms / (update_ms + per_update)


PHASE_COLUMNS = ("update", "sample", "act", "env", "replay add", "bookkeeping", "other")


def median_phases(results: Results, label: str) -> dict[str, float]:
    """ms per update of each loop phase of run `label`, the median over repeats."""
    runs = results.e2e_phases.get(label, [])
    return {phase: statistics.median(run.get(phase, 0.0) for run in runs) for phase in PHASE_COLUMNS} if runs else {}


def gpu_lines(results: Results, agents: list[str], plan: Plan) -> list[str]:
    """The GPU section: update and act ms, end-to-end frames/s per env count, hours for 200M frames."""
    if not results.gpu:
        return []
    counts = results.gpu.get("env_counts", list(GPU_ENVS))
    e2e = results.gpu.get("e2e", {})
    lines = ["", "## GPU", "", f"Device: {results.machine.get('gpu')}. Updates: batch 32, the paper settings, "
             f"{plan.update_rounds} round(s) of {plan.updates_per_round}, median (min–max) ms, eager unless the row "
             "names an `agent.compile` mode. End to end: the real trainer on Pong (`trainer.overlap=auto`, on with a "
             "GPU: ale-py's threads step the envs while the update's kernels run), replay of "
             f"{plan.e2e_replay:,}, ε 0.01, interleaved loop segments adding up to {plan.e2e_seconds:.0f} s; "
             "frames/s = 4 × agent steps/s; loop / update-only as on CPU (at the most envs). Hours for "
             f"{GPU_FRAMES / 1e6:.0f}M frames: at the agent's fastest run.", "",
             "| agent | update ms | " + " | ".join(f"act ms, {e} envs" for e in counts) + " | "
             + " | ".join(f"frames/s, {e} envs" for e in counts) + f" | loop / update-only, {counts[-1]} envs | "
             f"hours for {GPU_FRAMES / 1e6:.0f}M frames |",
             "|---|---|" + "---|" * (2 * len(counts) + 2)]
    labels = [(agent, agent) for agent in agents]
    labels += [(label, label.split(" ")[0]) for label in results.gpu.get("update_ms", {}) if " compile=" in label]
    for label, agent in labels:
        acts = [fmt_spread(results.gpu.get("act_ms", {}).get(f"{label} E={e}", []), 2) for e in counts]
        runs = [e2e.get(f"{label} E={e}", {}) for e in counts]
        fps = [f"{run['frames_per_s']:,.0f}" if run.get("frames_per_s") else "—" for run in runs]
        last = runs[-1]
        share = (f"{last['steps_per_s'] / update_only_steps_per_s(last['update_ms']):.2f}"
                 if last.get("steps_per_s") and last.get("update_ms") else "—")
        best = gpu_best_hours(results, agent) if label == agent else None
        hours = f"{best[0]:.1f} ({best[1]})" if best else "—"
        lines.append(f"| {label} | {fmt_spread(results.gpu.get('update_ms', {}).get(label, []), 2)} | "
                     + " | ".join(acts) + " | " + " | ".join(fps) + f" | {share} | {hours} |")
    return lines


def gpu_target_line(results: Results) -> str:
    """The targets table's GPU row."""
    target = f"GPU: IQN {GPU_FRAMES / 1e6:.0f}M frames ≤ {GPU_TARGET_HOURS_IQN:.0f} h on one H100"
    if not results.gpu:
        return f"| {target} | no GPU in this run | n/a |"
    best = gpu_best_hours(results, "iqn")
    if best is None:
        return f"| {target} | not measured | n/a |"
    hours, label = best
    device = results.machine.get("gpu")
    return f"| {target} | {hours:.1f} h on {device} ({label}) | {met(hours <= GPU_TARGET_HOURS_IQN)} |"


def header_lines(title: str, results: Results, command: str, quick: bool, seconds: float) -> list[str]:
    """Title, the smoke-run warning, the command and its duration, and the machine table."""
    lines = [f"# {title}", ""]
    if quick:
        lines += ["**Smoke run (`--quick`): short windows, one repeat, a 100k replay for the memory figures. "
                  "Not the project's figures; run the full command below on a quiet machine.**", ""]
    lines += [f"Produced by `{command}` in {seconds / 60:.1f} minutes "
              f"({time.strftime('%Y-%m-%d %H:%M %Z')}). Every figure below comes from this one run.", "",
              "## Machine", "", "| | |", "|---|---|"]
    return lines + [f"| {k} | {v} |" for k, v in results.machine.items()]


def write_gpu_markdown(path: Path, results: Results, agents: list[str], plan: Plan, command: str, quick: bool,
                       seconds: float) -> None:
    """The `--gpu-only` report: machine, the GPU section and the GPU target."""
    lines = header_lines("GPU benchmarks", results, command, quick, seconds)
    lines += gpu_lines(results, agents, plan)
    lines += ["", "## Target of issue 6", "", "| target | measured | met |", "|---|---|---|",
              gpu_target_line(results)]
    if results.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in results.notes]
    path.write_text("\n".join(lines) + "\n")


def write_markdown(path: Path, results: Results, agents: list[str], plan: Plan, command: str, quick: bool,
                   seconds: float) -> None:
    gb = 1e9
    lines = header_lines("Benchmarks", results, command, quick, seconds)
    if not results.gpu:
        lines += ["", "**No GPU was available to this run**, so the GPU figures of issue 6 (update time per agent, "
                  "end-to-end frames/s with 8–64 envs, projected wall-clock for 200M frames) are not measured; the "
                  "GPU code path (device-resident replay, batched acting, `agent.compile`) is tested for "
                  "correctness on CPU. `scripts/bench.py` measures them by itself when CUDA is present, and "
                  "`scripts/bench.py --gpu-only` measures only them (~7 minutes: see the README)."]

    lines += ["", "## End to end: agent steps/s in the learning phase", "",
              f"Pong, 1 env, batch 32, one update per 4 agent steps, replay of {plan.e2e_replay:,} transitions on "
              "both sides (SB3 keeps observation and next observation per transition, so a 1M SB3 replay would "
              "need ~56 GB), ε fixed at 0.01, learning after "
              f"{plan.e2e_warmup_steps:,} agent steps, timed over {plan.e2e_seconds:.0f} s after "
              f"{plan.e2e_skip_steps} more; median (min–max) over {plan.e2e_repeats} repeat(s), ours and the "
              "peers alternating. Every framework plays the same ale-py C++ env (frame skip 4, max-pool, 84×84, "
              "stack 4, dqn_zoo protocol), uses the Nature CNN and the paper sample sizes (C51 51 atoms, QR-DQN "
              "200 quantiles, IQN N = N' = 64 and K = 32, FQF 32 fractions). Ours runs the real trainer with "
              f"`{' '.join(OURS_E2E_OVERRIDES)}` and `trainer.overlap=auto` (off when torch's threads take every "
              f"core), once with 1 env and once with {MULTI_ENV} (one vector step = {MULTI_ENV} agent steps, "
              f"{MULTI_ENV // 4} updates). Our drivers interleave: loop segments of 1.5 s (adding up to the "
              "window) alternate with 0.75 s of back-to-back sample + update from the run's own agent and replay. "
              "Update-only: 4 agent steps per median back-to-back update, what the loop would reach if acting, env, "
              "replay and logging were free; ours / update-only is each run's own ratio of its two interleaved "
              "halves (the machine's drift cancels), the median over repeats. ours / peer is likewise the median over "
              "repeats of each repeat's ratio (a repeat runs ours and the peers back to back).", "",
              f"| agent | ours | peer | peer steps/s | ours / peer | update-only | ours / update-only | ours, "
              f"{MULTI_ENV} envs | {MULTI_ENV} envs / update-only | peak RSS ours |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for agent in agents:
        ours = results.e2e.get(f"ours {agent}", [])
        multi = results.e2e.get(f"ours {agent} E={MULTI_ENV}", [])
        upd = update_only_rate(results, f"ours {agent}")
        one_share, multi_share = (update_share(results, f"ours {agent}{suffix}") for suffix in ("", f" E={MULTI_ENV}"))
        share = f"{one_share:.2f}" if one_share else "—"
        multi_share = f"{multi_share:.2f}" if multi_share else "—"
        rss = results.e2e_rss.get(f"ours {agent}")
        rss_txt = f"{statistics.median(rss) / gb:.2f} GB" if rss else "—"
        peers = PEERS.get(agent, [])
        if not peers:
            peers = [(None, "—")]
        for i, (_, label) in enumerate(peers):
            theirs = results.e2e.get(label, [])
            pair = peer_ratio(results, f"ours {agent}", [label])
            ratio = f"{pair:.2f}×" if pair else "—"
            first = i == 0
            lines.append(f"| {agent if first else ''} | {fmt_spread(ours) if first else ''} | {label} | "
                         f"{fmt_spread(theirs)} | {ratio} | {f'{upd:.1f}' if first and upd else ''} | "
                         f"{share if first else ''} | {fmt_spread(multi) if first else ''} | "
                         f"{multi_share if first else ''} | {rss_txt if first else ''} |")

    lines += ["", "## Where our loop's time goes", "",
              "Inside the timed loop segments of the end-to-end runs above: ms per update (one update per 4 agent "
              f"steps; with {MULTI_ENV} envs a vector step carries {MULTI_ENV // 4} updates), the median over repeats. "
              "env = send + wait of the vector step; bookkeeping = priorities and the per-update metrics; other = "
              "the loop's remaining time (ε, counters, logging, Python). (update + sample) / loop is the most the "
              "loop could reach of the update-only rate with everything but the update free.", "",
              "| agent | envs | update | sample | act | env | replay add | bookkeeping | other | loop | "
              "(update + sample) / loop |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for agent in agents:
        for label, setting in ((f"ours {agent}", "1"), (f"ours {agent} E={MULTI_ENV}", str(MULTI_ENV))):
            phases = median_phases(results, label)
            if phases:
                loop = sum(phases.values())
                lines.append(f"| {agent} | {setting} | " + " | ".join(f"{phases[p]:.2f}" for p in PHASE_COLUMNS)
                             + f" | {loop:.2f} | {(phases['update'] + phases['sample']) / loop:.0%} |")

    lines += ["", "## Update and acting time per agent", "",
              f"Batch 32 sampled from a replay of random frames, Nature CNN on 84×84×4, {NUM_ACTIONS} actions, "
              f"paper settings of configs/agent/*.yaml, {results.machine.get('torch threads')} torch threads; "
              f"{plan.update_rounds} round(s) of {plan.updates_per_round} updates per agent, interleaved; "
              "acting = one ε-greedy `act` on a vector of observations. Median (min–max) in ms. "
              "`agent.compile`: none = eager; optimizer = the optimizer steps through torch.compile; update = the "
              "optimizer steps, the forward passes and the loss.", "",
              "| agent | update, compile=none | compile=optimizer | compile=update | act, 1 env | act, 8 envs |",
              "|---|---|---|---|---|---|"]
    for agent in agents:
        lines.append(f"| {agent} | "
                     + " | ".join(fmt_spread(results.update_ms.get(update_label(agent, mode), []))
                                  for mode in COMPILE_MODES)
                     + f" | {fmt_spread(results.act_ms.get((agent, 1), []), 2)} | "
                     f"{fmt_spread(results.act_ms.get((agent, 8), []), 2)} |")

    lines += ["", "## Env throughput", "", f"Random actions on Pong, {plan.env_seconds:.0f} s each; agent steps/s "
              "(× 4 for frames/s).", "", "| envs | ours (`AtariEnv`) | raw ale-py `AtariVectorEnv` | ours / raw |",
              "|---|---|---|---|"]
    for num_envs in sorted(results.env.get("ours", {})):
        ours, raw = results.env["ours"][num_envs], results.env["ale-py"][num_envs]
        lines.append(f"| {num_envs} | {ours:,.0f} | {raw:,.0f} | {ours / raw:.2f} |")

    big = results.replay_big
    lines += ["", "## Replay", "", "A 100k-capacity buffer holding 2,000 vector steps of random frames (1 or 8 "
              "envs; sampling from the 8-env one), batch 32; median ms:", "",
              "| operation | ms |", "|---|---|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in results.replay_small.items()]
    if big:
        lines += ["", f"A {big['capacity']:,}-transition buffer ({big['num_envs']} envs, uniform, 3-step returns), "
                  "filled through `add` with random frames, in a fresh process that also holds a DQN agent and "
                  "updates from it:", "", "| | |", "|---|---|",
                  f"| storage | {big['storage_bytes'] / gb:.3f} GB ({big['bytes_per_transition']:,.0f} bytes a "
                  "transition) |",
                  f"| add one vector step of {big['num_envs']} envs | {big['add_ms']:.3f} ms |",
                  f"| sample B=32 (stacks + 3-step returns) | {big['sample_ms']:.3f} ms |",
                  f"| DQN update sampled from it | {big['update_ms']:.1f} ms |",
                  f"| process peak RSS | {big['peak_rss_bytes'] / gb:.3f} GB ({big['peak_over_storage']:.2f}× the "
                  f"storage; {big['baseline_rss_bytes'] / gb:.2f} GB before the buffer) |"]

    lines += gpu_lines(results, agents, plan)

    lines += ["", "## Targets of issue 6", "", "| target | measured | met |", "|---|---|---|"]
    for agent in agents:
        if PEERS.get(agent):
            ratio = peer_ratio(results, f"ours {agent}", [label for _, label in PEERS[agent]])
            if ratio:
                lines.append(f"| {agent}: end-to-end ≥ {TARGET_PEER_RATIO}× the fastest peer | {ratio:.2f}× | "
                             f"{met(ratio >= TARGET_PEER_RATIO)} |")
            else:
                lines.append(f"| {agent}: end-to-end ≥ {TARGET_PEER_RATIO}× the fastest peer | not measured | n/a |")
        for label, setting in ((f"ours {agent}", "1 env"), (f"ours {agent} E={MULTI_ENV}", f"{MULTI_ENV} envs")):
            share = update_share(results, label)
            if share:
                bound = share_bound(results, agent, label, 1 if setting == "1 env" else MULTI_ENV)
                bound_txt = (f" (bound: {bound:.1%}, with only act and the env step added to the update, at their "
                             "isolated cost)") if bound else ""
                lines.append(f"| {agent}: end-to-end ≥ {TARGET_UPDATE_SHARE:.0%} of the update-only rate, {setting} | "
                             f"{share:.1%}{bound_txt} | {met(share >= TARGET_UPDATE_SHARE)} |")
    if big:
        per_million = big["bytes_per_transition"] * 1e6
        lines.append(f"| replay: 1M Atari transitions ≤ {TARGET_REPLAY_BYTES / gb:.1f} GB | "
                     f"{per_million / gb:.3f} GB | {met(per_million <= TARGET_REPLAY_BYTES)} |")
        fastest = min((statistics.median(v) for v in results.update_ms.values()), default=None)
        if fastest:
            share = big["sample_ms"] / fastest
            lines.append(f"| replay: sample B=32 with stacks and n-step ≤ {TARGET_SAMPLE_SHARE:.0%} of an update "
                         f"(the fastest update measured) | {share:.1%} ({big['sample_ms']:.2f} / {fastest:.1f} ms) | "
                         f"{met(share <= TARGET_SAMPLE_SHARE)} |")
        lines.append(f"| peak memory of a {big['capacity']:,}-buffer run ≤ {TARGET_PEAK_OVER_BUFFER}× the buffer | "
                     f"{big['peak_over_storage']:.2f}× | {met(big['peak_over_storage'] <= TARGET_PEAK_OVER_BUFFER)}"
                     + (" (100k buffer: the process's fixed ~0.4 GB weighs more)" if big["capacity"] < 10**6 else "")
                     + " |")
    lines.append(gpu_target_line(results))
    if results.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in results.notes]
    path.write_text("\n".join(lines) + "\n")


# --- main -----------------------------------------------------------------------------------------------
def run_gpu_only(agents: list[str], plan: Plan, out: Path, command: str, quick: bool) -> None:
    """`--gpu-only`: the GPU figures alone, short enough for one call on a lent GPU machine."""
    if not torch.cuda.is_available():
        raise SystemExit("--gpu-only needs a CUDA device, and torch sees none (torch.cuda.is_available() is False)")
    device = torch.device("cuda")
    if not quick:  # one repeat of 6 s per run: 13 end-to-end runs then fit in ~7 minutes with the updates
        plan = Plan(**{**plan.__dict__, "e2e_seconds": 6.0, "e2e_repeats": 1})
    results = Results(machine=machine_info(device))
    total = gpu_task_count(agents, plan)
    start = time.perf_counter()
    with tqdm(total=total, unit="task", dynamic_ncols=True) as bar:
        measure_gpu(agents, plan, results, bar, device)
    write_gpu_markdown(out, results, agents, plan, command, quick, time.perf_counter() - start)
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="~3-minute smoke run (short windows, 1 repeat)")
    parser.add_argument("--out", type=Path, default=None,
                        help="default: BENCHMARKS.md, or BENCHMARKS-GPU.md with --gpu-only")
    parser.add_argument("--gpu-only", action="store_true",
                        help="only the GPU figures (needs CUDA; ~7 minutes): update and act times, end-to-end "
                             "frames/s with 8 and 64 envs, hours for 200M frames")
    parser.add_argument("--setup-peers", action="store_true", help="create .bench-venv/ with the peers and exit")
    parser.add_argument("--no-peers", action="store_true", help="measure ours only")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip timing the agent.compile=update update (compile=optimizer is always timed)")
    parser.add_argument("--agents", nargs="+", default=None, help="default: dqn c51 qrdqn iqn fqf (+ expectile)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=None, help="end-to-end repeats (default 3, quick 1)")
    args = parser.parse_args()
    if args.setup_peers:
        setup_peers()
        return
    torch.set_num_threads(args.threads)
    keep_freed_memory()  # as the trainer does: the isolated updates run under the loop's malloc settings
    plan = Plan.make(args.quick)
    if args.repeats:
        plan = Plan(**{**plan.__dict__, "e2e_repeats": args.repeats})
    agents = args.agents or BASE_AGENTS + (["expectile"] if "expectile" in HEADS else [])
    command = "python scripts/bench.py " + " ".join(sys.argv[1:])
    if args.gpu_only:
        run_gpu_only(agents, plan, args.out or ROOT / "BENCHMARKS-GPU.md", command.strip(), args.quick)
        return
    peers = not args.no_peers
    if peers and not peer_python().exists():
        raise SystemExit(f"no peer venv at {PEER_VENV}; run `python scripts/bench.py --setup-peers` first "
                         "(or --no-peers)")
    device = torch.device("cpu")
    results = Results(machine=machine_info(device))
    gpu = torch.cuda.is_available()
    e2e_runs = plan.e2e_repeats * sum(2 + (len(PEERS.get(a, [])) if peers else 0) for a in agents)
    compile_agents = [] if args.no_compile else agents[:1] if args.quick else agents
    total = (4 + plan.update_rounds * (2 if compile_agents else 1) + 2 + e2e_runs
             + (gpu_task_count(agents, plan) if gpu else 0))
    start = time.perf_counter()
    with tqdm(total=total, unit="task", dynamic_ncols=True) as bar:
        for kind in ("ours", "ale-py"):
            for num_envs in (1, 8):
                bar.set_description(f"env {kind} E={num_envs}")
                results.env.setdefault(kind, {})[num_envs] = env_rate(kind, num_envs, plan.env_seconds)
                bar.update(1)
        bar.set_description("building agents")
        setups = update_setups(agents, device)
        bar.set_description(f"compiling agents (compile={OURS_COMPILE})")
        setups.update(update_setups(agents, device, OURS_COMPILE))
        measure_updates(setups, plan, results, [1, 8], device, bar)
        if compile_agents:
            bar.set_description("compiling agents (compile=update)")
            measure_updates(update_setups(compile_agents, device, "update"), plan, results, [], device, bar)
        bar.set_description("replay 100k")
        measure_small_replay(plan, results)
        bar.update(1)
        bar.set_description(f"replay {plan.replay_capacity:,} + peak RSS")
        try:
            results.replay_big = run_driver(sys.executable, "replay_memory.py",
                                            ["--capacity", str(plan.replay_capacity),
                                             "--sample-calls", str(plan.sample_calls)], timeout=1800)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            results.notes.append(f"replay {plan.replay_capacity:,} failed: {str(error)[-600:]}")
        bar.update(1)
        measure_e2e(agents, plan, results, peers, bar)
        if gpu:
            measure_gpu(agents, plan, results, bar)
    out = args.out or ROOT / "BENCHMARKS.md"
    write_markdown(out, results, agents, plan, command.strip(), args.quick, time.perf_counter() - start)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
