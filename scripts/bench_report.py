"""BENCHMARKS.md (and BENCHMARKS-GPU.md) from a `bench_measure.Results`: one function per section, and the
project's speed targets with whether each is met.

The targets: end to end ≥ TARGET_PEER_RATIO× the fastest peer and ≥ TARGET_UPDATE_SHARE of the update-only
rate; a 1M-transition Atari replay ≤ TARGET_REPLAY_BYTES, its sample ≤ TARGET_SAMPLE_SHARE of an update,
and a run's peak memory ≤ TARGET_PEAK_OVER_BUFFER× its buffer; IQN's GPU_FRAMES frames in
≤ GPU_TARGET_HOURS_IQN hours on one GPU.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from bench_measure import (
    COMPILE_MODES,
    GPU_ENVS,
    MULTI_ENV,
    NUM_ACTIONS,
    OURS_E2E_OVERRIDES,
    Plan,
    Results,
    update_label,
    update_only_steps_per_s,
)
from bench_peers import PEERS

GB = 1e9
TARGET_PEER_RATIO = 1.3
TARGET_UPDATE_SHARE = 0.9
TARGET_REPLAY_BYTES = 7.2e9
TARGET_SAMPLE_SHARE = 0.05
TARGET_PEAK_OVER_BUFFER = 1.3
GPU_FRAMES = 200_000_000
GPU_TARGET_HOURS_IQN = 12.0


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
    lines += ["", "## Target", "", "| target | measured | met |", "|---|---|---|", gpu_target_line(results)]
    lines += notes_lines(results)
    path.write_text("\n".join(lines) + "\n")


def no_gpu_lines(results: Results) -> list[str]:
    """The warning that a run had no GPU, so the GPU section is missing (empty when it had one)."""
    if results.gpu:
        return []
    return ["", "**No GPU was available to this run**, so the GPU figures (update time per agent, end-to-end "
            "frames/s with 8–64 envs, projected wall-clock for 200M frames) are not measured; the GPU code path "
            "(device-resident replay, batched acting, `agent.compile`) is tested for correctness on CPU. "
            "`scripts/bench.py` measures them by itself when CUDA is present, and `scripts/bench.py --gpu-only` "
            "measures only them (~7 minutes: see the README)."]


def e2e_row_lines(results: Results, agent: str) -> list[str]:
    """The end-to-end table's rows of `agent`: one per peer (ours, update-only and RSS on the first)."""
    ours = results.e2e.get(f"ours {agent}", [])
    multi = results.e2e.get(f"ours {agent} E={MULTI_ENV}", [])
    upd = update_only_rate(results, f"ours {agent}")
    one_share, multi_share = (update_share(results, f"ours {agent}{suffix}") for suffix in ("", f" E={MULTI_ENV}"))
    share = f"{one_share:.2f}" if one_share else "—"
    multi_share = f"{multi_share:.2f}" if multi_share else "—"
    rss = results.e2e_rss.get(f"ours {agent}")
    rss_txt = f"{statistics.median(rss) / GB:.2f} GB" if rss else "—"
    lines = []
    for i, (_, label) in enumerate(PEERS.get(agent) or [(None, "—")]):
        theirs = results.e2e.get(label, [])
        pair = peer_ratio(results, f"ours {agent}", [label])
        ratio = f"{pair:.2f}×" if pair else "—"
        first = i == 0
        lines.append(f"| {agent if first else ''} | {fmt_spread(ours) if first else ''} | {label} | "
                     f"{fmt_spread(theirs)} | {ratio} | {f'{upd:.1f}' if first and upd else ''} | "
                     f"{share if first else ''} | {fmt_spread(multi) if first else ''} | "
                     f"{multi_share if first else ''} | {rss_txt if first else ''} |")
    return lines


def e2e_lines(results: Results, agents: list[str], plan: Plan) -> list[str]:
    """End to end: agent steps/s of ours (1 and MULTI_ENV envs) and the peers, update-only, ratios, RSS."""
    lines = ["", "## End to end: agent steps/s in the learning phase", "",
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
        lines += e2e_row_lines(results, agent)
    return lines


def phase_lines(results: Results, agents: list[str]) -> list[str]:
    """Where our loop's time goes: ms per update of each phase of the end-to-end runs."""
    lines = ["", "## Where our loop's time goes", "",
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
    return lines


def update_lines(results: Results, agents: list[str], plan: Plan) -> list[str]:
    """Update time per agent and `agent.compile` mode, acting time with 1 and 8 envs."""
    lines = ["", "## Update and acting time per agent", "",
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
    return lines


def env_lines(results: Results, plan: Plan) -> list[str]:
    """Env throughput: our AtariEnv against raw ale-py."""
    lines = ["", "## Env throughput", "", f"Random actions on Pong, {plan.env_seconds:.0f} s each; agent steps/s "
             "(× 4 for frames/s).", "", "| envs | ours (`AtariEnv`) | raw ale-py `AtariVectorEnv` | ours / raw |",
             "|---|---|---|---|"]
    for num_envs in sorted(results.env.get("ours", {})):
        ours, raw = results.env["ours"][num_envs], results.env["ale-py"][num_envs]
        lines.append(f"| {num_envs} | {ours:,.0f} | {raw:,.0f} | {ours / raw:.2f} |")
    return lines


def replay_lines(results: Results) -> list[str]:
    """Replay write and sample times, and the big buffer's storage, times and peak RSS."""
    big = results.replay_big
    lines = ["", "## Replay", "", "A 100k-capacity buffer holding 2,000 vector steps of random frames (1 or 8 "
             "envs; sampling from the 8-env one), batch 32; median ms:", "",
             "| operation | ms |", "|---|---|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in results.replay_small.items()]
    if big:
        lines += ["", f"A {big['capacity']:,}-transition buffer ({big['num_envs']} envs, uniform, 3-step returns), "
                  "filled through `add` with random frames, in a fresh process that also holds a DQN agent and "
                  "updates from it:", "", "| | |", "|---|---|",
                  f"| storage | {big['storage_bytes'] / GB:.3f} GB ({big['bytes_per_transition']:,.0f} bytes a "
                  "transition) |",
                  f"| add one vector step of {big['num_envs']} envs | {big['add_ms']:.3f} ms |",
                  f"| sample B=32 (stacks + 3-step returns) | {big['sample_ms']:.3f} ms |",
                  f"| DQN update sampled from it | {big['update_ms']:.1f} ms |",
                  f"| process peak RSS | {big['peak_rss_bytes'] / GB:.3f} GB ({big['peak_over_storage']:.2f}× the "
                  f"storage; {big['baseline_rss_bytes'] / GB:.2f} GB before the buffer) |"]
    return lines


def agent_target_lines(results: Results, agent: str) -> list[str]:
    """`agent`'s targets: end to end against the fastest peer, and against the update-only rate."""
    lines = []
    if PEERS.get(agent):
        ratio = peer_ratio(results, f"ours {agent}", [label for _, label in PEERS[agent]])
        target = f"{agent}: end-to-end ≥ {TARGET_PEER_RATIO}× the fastest peer"
        lines.append(f"| {target} | {ratio:.2f}× | {met(ratio >= TARGET_PEER_RATIO)} |" if ratio
                     else f"| {target} | not measured | n/a |")
    for label, num_envs in ((f"ours {agent}", 1), (f"ours {agent} E={MULTI_ENV}", MULTI_ENV)):
        share = update_share(results, label)
        if share:
            setting = "1 env" if num_envs == 1 else f"{num_envs} envs"
            bound = share_bound(results, agent, label, num_envs)
            bound_txt = (f" (bound: {bound:.1%}, with only act and the env step added to the update, at their "
                         "isolated cost)") if bound else ""
            lines.append(f"| {agent}: end-to-end ≥ {TARGET_UPDATE_SHARE:.0%} of the update-only rate, {setting} | "
                         f"{share:.1%}{bound_txt} | {met(share >= TARGET_UPDATE_SHARE)} |")
    return lines


def replay_target_lines(results: Results) -> list[str]:
    """The replay's targets: storage of 1M transitions, sample time against an update, peak memory."""
    big = results.replay_big
    if not big:
        return []
    per_million = big["bytes_per_transition"] * 1e6
    lines = [f"| replay: 1M Atari transitions ≤ {TARGET_REPLAY_BYTES / GB:.1f} GB | "
             f"{per_million / GB:.3f} GB | {met(per_million <= TARGET_REPLAY_BYTES)} |"]
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
    return lines


def target_lines(results: Results, agents: list[str]) -> list[str]:
    """The targets table: each target, what was measured and whether it is met."""
    lines = ["", "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for agent in agents:
        lines += agent_target_lines(results, agent)
    return lines + replay_target_lines(results) + [gpu_target_line(results)]


def notes_lines(results: Results) -> list[str]:
    """The failures and remarks collected while measuring (empty when none)."""
    return ["", "## Notes", ""] + [f"- {note}" for note in results.notes] if results.notes else []


def write_markdown(path: Path, results: Results, agents: list[str], plan: Plan, command: str, quick: bool,
                   seconds: float) -> None:
    """BENCHMARKS.md: machine, end to end, loop phases, updates, env, replay, GPU, targets, notes."""
    lines = header_lines("Benchmarks", results, command, quick, seconds)
    lines += no_gpu_lines(results)
    lines += e2e_lines(results, agents, plan)
    lines += phase_lines(results, agents)
    lines += update_lines(results, agents, plan)
    lines += env_lines(results, plan)
    lines += replay_lines(results)
    lines += gpu_lines(results, agents, plan)
    lines += target_lines(results, agents)
    lines += notes_lines(results)
    path.write_text("\n".join(lines) + "\n")
