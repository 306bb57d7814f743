"""What `scripts/bench.py` measures, each into a `Results` that `bench_report` renders.

Env throughput, update and acting time per agent, replay write and sample times, end-to-end agent
steps/s of our trainer and of the peers (each a driver process, scripts/bench_drivers/), and on a
CUDA device the GPU figures. `Plan` says how long each measurement runs.
"""

from __future__ import annotations

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
from bench_drivers.common import RESULT_PREFIX, make_atari_env
from bench_peers import PEERS, peer_python, peer_versions
from tqdm import tqdm

from agents import build_agent
from replay import build_replay
from training.config import train_config

ROOT = Path(__file__).resolve().parents[1]
DRIVERS = ROOT / "scripts" / "bench_drivers"
BASE_AGENTS = ["dqn", "c51", "qrdqn", "iqn", "fqf"]
NUM_ACTIONS = 6  # Pong's minimal action set
# The settings of our end-to-end runs beyond the paper ones: the compiled optimizer step (what a user
# passes for speed; the update-only rate below is measured with it too). trainer.overlap stays `auto`.
OURS_COMPILE = "optimizer"
OURS_E2E_OVERRIDES = [f"agent.compile={OURS_COMPILE}"]
COMPILE_MODES = ("none", "optimizer", "update")
MULTI_ENV = 8  # our second end-to-end setting: 8 envs (2 updates per vector step)
GPU_ENVS = (8, 64)  # the GPU end-to-end runs of every agent, eager
GPU_COMPILED = (("iqn", "update", 64), ("iqn", "graph", 64))  # and these (agent, agent.compile, envs): the target
GPU_UPDATE_MODES = ("graph",)  # the agent.compile modes whose update is also timed for every agent on a GPU (CUDA only)


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
    """Everything measured; `bench_report.write_markdown` renders it."""

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


def timed_ms(fn: Callable[[], Any], repeats: int) -> list[float]:
    """Wall-clock ms of each of `repeats` calls of `fn`."""
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def run_driver(python: Path | str, script: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Run a driver process and return its result line (raises with its output tail on failure).

    The driver finds the project through PYTHONPATH: the peers' venv does not install it, and this
    checkout, not another install, is the one measured."""
    cmd = [str(python), str(DRIVERS / script), *args]
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": pythonpath}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    tail = (proc.stdout + proc.stderr)[-2000:]
    raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode} without a result:\n{tail}")


def machine_info(device: torch.device) -> dict[str, str]:
    """The machine table of a report: CPU, memory, OS, versions, torch threads, GPU, the peers' versions."""
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
        info["peers"] = peer_versions()
    return info


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
    """(agent, replay of random frames) per `update_label`, each agent warmed up (and compiled) by 3 updates."""
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
    """The arguments every end-to-end driver takes (scripts/bench_drivers/common.py), from the plan."""
    return ["--agent", agent, "--replay-size", str(plan.e2e_replay), "--warmup-steps", str(plan.e2e_warmup_steps),
            "--skip-steps", str(plan.e2e_skip_steps), "--measure-seconds", str(plan.e2e_seconds), *(extra or [])]


def e2e_timeout(plan: Plan, agent: str) -> float:
    """Seconds an end-to-end driver may take before it counts as failed (IQN and FQF compile longer)."""
    return 300 + 4 * plan.e2e_seconds + (300 if agent in ("iqn", "fqf") else 0)


def update_only_steps_per_s(update_ms: float, train_period_steps: int = 4) -> float:
    """Agent steps/s of a loop that did nothing but sample and update, one update per 4 agent steps."""
    return train_period_steps * 1e3 / update_ms


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
    extra = [(agent, mode) for mode in GPU_UPDATE_MODES if device.type == "cuda" for agent in agents]
    extra += [(agent, mode) for agent, mode, _ in compiled if agent in agents and (agent, mode) not in extra]
    for agent, mode in extra:
        try:
            setups.update(update_setups([agent], device, mode))
        except Exception as error:  # one mode failing must not lose the other figures
            results.notes.append(f"GPU update {update_label(agent, mode)} failed: {type(error).__name__}: "
                                 f"{str(error)[-600:]}")
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


def measure_env(plan: Plan, results: Results, bar: tqdm) -> None:
    """Env throughput of ours and raw ale-py with 1 and 8 envs."""
    for kind in ("ours", "ale-py"):
        for num_envs in (1, 8):
            bar.set_description(f"env {kind} E={num_envs}")
            results.env.setdefault(kind, {})[num_envs] = env_rate(kind, num_envs, plan.env_seconds)
            bar.update(1)


def measure_big_replay(plan: Plan, results: Results) -> None:
    """A `plan.replay_capacity` buffer in a fresh process (bench_drivers/replay_memory.py): storage, times,
    peak RSS. A failure becomes a note."""
    try:
        results.replay_big = run_driver(sys.executable, "replay_memory.py",
                                        ["--capacity", str(plan.replay_capacity),
                                         "--sample-calls", str(plan.sample_calls)], timeout=1800)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        results.notes.append(f"replay {plan.replay_capacity:,} failed: {str(error)[-600:]}")


def cpu_task_count(agents: list[str], plan: Plan, peers: bool, compile_agents: list[str]) -> int:
    """Progress-bar steps of `measure_all` without its GPU part."""
    e2e_runs = plan.e2e_repeats * sum(2 + (len(PEERS.get(a, [])) if peers else 0) for a in agents)
    return 4 + plan.update_rounds * (2 if compile_agents else 1) + 2 + e2e_runs


def measure_all(agents: list[str], plan: Plan, peers: bool, compile_agents: list[str]) -> Results:
    """Every figure of BENCHMARKS.md on the CPU (and the GPU ones when CUDA is present), with a progress bar.

    `compile_agents`: the agents whose `agent.compile=update` update is timed too (compile=optimizer, the
    setting of our end-to-end runs, is timed for every agent)."""
    device = torch.device("cpu")
    results = Results(machine=machine_info(device))
    gpu = torch.cuda.is_available()
    total = cpu_task_count(agents, plan, peers, compile_agents) + (gpu_task_count(agents, plan) if gpu else 0)
    with tqdm(total=total, unit="task", dynamic_ncols=True) as bar:
        measure_env(plan, results, bar)
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
        measure_big_replay(plan, results)
        bar.update(1)
        measure_e2e(agents, plan, results, peers, bar)
        if gpu:
            measure_gpu(agents, plan, results, bar)
    return results
