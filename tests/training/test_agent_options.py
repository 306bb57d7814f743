"""Every agent × option (n-step 3, double-Q, dueling, prioritized replay), and every agent with all four
options together, composes and learns on Atari.

Each combination runs the real trainer for a few hundred Breakout frames with a handful of updates
and checks that the losses it logged are finite and that each option reached the parts it changes.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from training.config import train_config
from training.logging import read_metrics
from training.loop import Trainer

AGENTS = ["dqn", "c51", "qrdqn", "iqn", "fqf", "expectile"]
OPTIONS = {
    "n_step": ["agent.n_step=3"],
    "double_q": ["agent.double_q=true"],
    "dueling": ["agent.dueling=true"],
    "prioritized": ["replay=prioritized"],
}
# One option at a time, then all of them together (e.g. IQN + PER + 3-step + double + dueling).
OPTION_SETS = [(option,) for option in sorted(OPTIONS)] + [tuple(sorted(OPTIONS))]
TINY = [
    "trainer.total_frames=480", "agent.warmup_steps=100", "agent.train_period_steps=4",
    "agent.target_update_period_steps=40", "agent.batch_size=8", "replay.capacity=1000",
    "trainer.eval_period_frames=100000", "trainer.checkpoint_period_frames=100000",
    "trainer.log_period_frames=100000", "trainer.progress=false", "logger.tensorboard=false",
    "trainer.eval_frames=400", "env.eval_num_envs=1", "env.protocol.max_episode_frames=400",
]


@pytest.mark.slow
@pytest.mark.parametrize("options", OPTION_SETS, ids="+".join)
@pytest.mark.parametrize("agent", AGENTS)
def test_agent_with_options_runs_atari_updates(agent: str, options: tuple[str, ...], tmp_path: Path):
    overrides = [override for option in options for override in OPTIONS[option]]
    cfg = train_config([f"agent={agent}", *overrides, *TINY, f"runs_root={tmp_path}"])
    trainer = Trainer(cfg)
    assert trainer.train() == "done"
    assert trainer.counters.updates == (120 - 100) // 4 + 1
    assert (type(trainer.replay).__name__ == "PrioritizedReplayBuffer") == ("prioritized" in options)
    dueling = any("value" in name for name, _ in trainer.agent.online.named_parameters())
    assert dueling == ("dueling" in options)
    assert trainer.replay.n_step == (3 if "n_step" in options else 1)
    assert trainer.agent.double_q == ("double_q" in options)
    losses = [value for record in read_metrics(Path(cfg.run_dir)) for tag, value in record.items()
              if tag.startswith("loss/")]
    assert losses and all(value is not None and math.isfinite(value) for value in losses)


@pytest.mark.slow
@pytest.mark.parametrize("agent", ["c51", "iqn"])
def test_probe_return_distribution_reaches_tensorboard(agent: str, tmp_path: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    overrides = [f"agent={agent}", *TINY, f"runs_root={tmp_path}", "logger.tensorboard=true"]
    cfg = train_config(overrides)
    assert Trainer(cfg).train() == "done"
    events = EventAccumulator(str(Path(cfg.run_dir) / "tb"))
    events.Reload()
    assert "probe/return_distribution" in events.Tags()["histograms"]
    assert {"probe/q_greedy", "q/mean"} <= set(events.Tags()["scalars"])
