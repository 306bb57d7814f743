"""Every speed figure of the project in one command, written to BENCHMARKS.md.

    python scripts/bench.py --setup-peers            # once: .bench-venv/ with SB3, sb3-contrib, Tianshou
    python scripts/bench.py                          # full run, ~25-30 minutes on 2 cores -> BENCHMARKS.md
    python scripts/bench.py --quick --out /tmp/B.md  # ~3-minute smoke run of the same code paths
    python scripts/bench.py --gpu-only               # the GPU figures alone, ~7 minutes -> BENCHMARKS-GPU.md

Measured in one invocation, on one machine, with a progress bar (scripts/bench_measure.py):
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
  process (scripts/bench_drivers/), ours in this venv, the peers in `.bench-venv/` (scripts/bench_peers.py),
  alternating ours and theirs (the order flips every repeat) over `--repeats` repeats so machine drift cancels;
- on a CUDA machine: update and act time per agent on the GPU (the update eager and as one CUDA graph,
  `agent.compile=graph`), end-to-end frames/s with 8 and 64 envs (and IQN with `agent.compile=update`
  and `graph` at 64) and the projected wall-clock of 200M frames per agent;
  `--gpu-only` measures just these (scripts/offline_wheels.sh fetches what an offline GPU box lacks).

Rendered by scripts/bench_report.py: medians with their spread (min–max over repeats or calls), the ratio
ours/peer per agent, and each of the project's speed targets with whether it is met. A script, not a
test: figures move with machine load.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from bench_measure import BASE_AGENTS, ROOT, Plan, Results, gpu_task_count, machine_info, measure_all, measure_gpu
from bench_peers import PEER_VENV, peer_python, setup_peers
from bench_report import write_gpu_markdown, write_markdown
from tqdm import tqdm

from agents import HEADS
from training.allocator import keep_freed_memory


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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
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
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    if args.setup_peers:
        setup_peers()
        return
    torch.set_num_threads(args.threads)
    keep_freed_memory()  # as the trainer does: the isolated updates run under the loop's malloc settings
    plan = Plan.make(args.quick)
    if args.repeats:
        plan = Plan(**{**plan.__dict__, "e2e_repeats": args.repeats})
    agents = args.agents or BASE_AGENTS + (["expectile"] if "expectile" in HEADS else [])
    command = ("python scripts/bench.py " + " ".join(sys.argv[1:])).strip()
    if args.gpu_only:
        run_gpu_only(agents, plan, args.out or ROOT / "BENCHMARKS-GPU.md", command, args.quick)
        return
    peers = not args.no_peers
    if peers and not peer_python().exists():
        raise SystemExit(f"no peer venv at {PEER_VENV}; run `python scripts/bench.py --setup-peers` first "
                         "(or --no-peers)")
    compile_agents = [] if args.no_compile else agents[:1] if args.quick else agents
    start = time.perf_counter()
    results = measure_all(agents, plan, peers, compile_agents)
    out = args.out or ROOT / "BENCHMARKS.md"
    write_markdown(out, results, agents, plan, command, args.quick, time.perf_counter() - start)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
