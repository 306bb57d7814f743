"""The paper's analysis on a trained agent: each quantile/expectile channel of its head is a "cell".

For a run trained on the variable-magnitude env (`experiment=variable_magnitude`), channel i of the greedy
action at the reward phase (the state from which the reward is delivered and the trial ends) holds a
statistic θ_i at asymmetry τ_i: an expectile (`agent=expectile`) or a quantile (QR-DQN, IQN, FQF). Its TD
error when magnitude m is delivered is δ_i(m) = m − θ_i (no bootstrap: the trial ends), and its
"response", the error as it drives that channel's update (−∂loss/∂θ_i up to a constant), is

    expectile:       |τ_i − 1{δ < 0}| · δ
    quantile (κ):    |τ_i − 1{δ < 0}| · clip(δ, −κ, κ)/κ     (sign(δ) for κ = 0).

The analysis is then the model's: reversal points, asymmetries, their correlation, and the distribution
decoded from them, compared in W1 with the task's distribution. Decoding is also done from the channels'
own (τ_i, θ_i), the readout the measurement at 7 magnitudes approximates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents import Agent, ExpectileHead, build_agent
from agents.heads import FractionQuantileHead, ImplicitQuantileHead, QuantileHead
from neuro.dopamine.analysis import asymmetries, pearson, reversal_points
from neuro.dopamine.decoding import decode
from neuro.dopamine.envs import VariableMagnitudeEnv
from neuro.dopamine.models import population_taus
from neuro.dopamine.tasks import RewardDistribution
from neuro.statistics import wasserstein1
from training.checkpoint import latest_checkpoint, load_checkpoint
from training.config import TrainConfig
from training.scoring import load_run_config

__all__ = ["CHANNEL_HEADS", "load_trained_agent", "channel_statistics", "channel_responses", "analyze_agent",
           "analyze_run"]

CHANNEL_HEADS = (ExpectileHead, QuantileHead, ImplicitQuantileHead, FractionQuantileHead)


def load_trained_agent(run_dir: Path) -> tuple[TrainConfig, Agent, Path]:
    """The run's config, its agent restored from the newest checkpoint (on the CPU), and that checkpoint."""
    cfg = load_run_config(Path(run_dir))
    checkpoint = latest_checkpoint(Path(run_dir))
    if checkpoint is None:
        raise FileNotFoundError(f"{run_dir} has no complete checkpoint under {Path(run_dir) / 'checkpoints'}")
    # The id without its "module:" prefix: importing this module registered it, whatever module path the
    # run's config names.
    env = gym.make(cfg.env.gym_id.rpartition(":")[2]).unwrapped if cfg.env.kind == "classic" else None
    if not isinstance(env, VariableMagnitudeEnv):
        raise ValueError(f"{run_dir} was not trained on the variable-magnitude env (env={cfg.env.game}, "
                         f"gym_id='{cfg.env.gym_id}'); train one with experiment=variable_magnitude")
    obs_shape, num_actions = (1, *env.observation_space.shape), int(env.action_space.n)
    agent = build_agent(cfg.agent, obs_shape, num_actions, "cpu", seed=cfg.seed)
    agent.load_state_dict(load_checkpoint(checkpoint, parts=["agent"], map_location="cpu")["agent"])
    return cfg, agent, checkpoint


def channel_statistics(agent: Agent, obs: np.ndarray, num_channels: int = 31) -> dict[str, Any]:
    """τ_i [N] and θ_i [N] of the greedy action at `obs` [D], the loss form and κ.

    Heads with fixed fractions (expectile, QR-DQN) and FQF (which proposes its own) are read as they are;
    IQN is read at `num_channels` fixed fractions (2i + 1)/2N.
    """
    head = agent.head
    if not isinstance(head, CHANNEL_HEADS):
        valid = ", ".join(h.__name__ for h in CHANNEL_HEADS)
        raise ValueError(f"the dopamine analysis needs a head with quantile or expectile channels ({valid}); "
                         f"got {type(head).__name__}")
    taus = None
    if isinstance(head, ImplicitQuantileHead):
        taus = torch.from_numpy(population_taus(num_channels)).float()[None]
    with torch.no_grad():
        dist = agent.online(torch.as_tensor(obs, dtype=torch.float32)[None, None], taus)
    action = int(dist.q_values()[0].argmax())
    return {
        "taus": dist.taus[0].double().numpy(),
        "values": dist.values[0, action].double().numpy(),
        "form": "expectile" if isinstance(head, ExpectileHead) else "quantile",
        "kappa": float(getattr(head, "kappa", 0.0)),
    }


def channel_responses(
    values: np.ndarray, taus: np.ndarray, magnitudes: np.ndarray, form: str, kappa: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(TD errors δ [N, K], responses [N, K]) of channels θ [N] at asymmetries τ [N] to rewards `magnitudes` [K]."""
    delta = np.asarray(magnitudes, dtype=np.float64)[None, :] - np.asarray(values, dtype=np.float64)[:, None]
    weight = np.where(delta < 0, 1.0 - np.asarray(taus)[:, None], np.asarray(taus)[:, None])
    if form == "expectile":
        shaped = delta
    elif form == "quantile":
        shaped = np.clip(delta, -kappa, kappa) / kappa if kappa > 0 else np.sign(delta)
    else:
        raise ValueError(f"unknown form '{form}'; valid: expectile, quantile")
    return delta, weight * shaped


def analyze_agent(channels: dict[str, Any], distribution: RewardDistribution, decode_iterations: int = 100) -> dict:
    """Every number of the agent analysis from `channel_statistics` and the task's reward distribution."""
    taus, values, form = channels["taus"], channels["values"], channels["form"]
    magnitudes = distribution.values
    delta, responses = channel_responses(values, taus, magnitudes, form, channels["kappa"])
    # expectile responses are linear on each side (hinge fit); Huber-quantile ones are steps beyond κ
    method = "hinge" if form == "expectile" else "interpolate"
    reversal = reversal_points(magnitudes, responses, method)
    asymmetry = asymmetries(magnitudes, responses, reversal, form)
    truth = (distribution.values, distribution.probs)

    def decoded(asymmetries_: np.ndarray, statistics: np.ndarray) -> dict[str, Any]:
        """Decode and score; nothing to decode when no cell has a measurable asymmetry (every reversal
        point outside the magnitudes, e.g. an untrained head): empty atoms and W1 nan."""
        if not (np.isfinite(asymmetries_) & np.isfinite(statistics)).any():
            return {"atoms": np.zeros(0), "weights": np.zeros(0), "w1": float("nan")}
        atoms, weights = decode(asymmetries_, statistics, form, decode_iterations)
        return {"atoms": atoms, "weights": weights, "w1": wasserstein1(*truth, atoms, weights)}

    return {
        **channels,
        "magnitudes": magnitudes,
        "probabilities": distribution.probs,
        "td_errors": delta,
        "responses": responses,
        "reversal_method": method,
        "reversal": reversal,
        "asymmetry": asymmetry,
        "r_asymmetry_reversal": pearson(asymmetry, reversal),
        "r_tau_value": pearson(taus, values),
        "decoded_measured": decoded(asymmetry, reversal),
        "decoded_channels": decoded(taus, values),
        "w1_mean_only": wasserstein1(*truth, np.array([distribution.mean]), None),
    }


def analyze_run(run_dir: Path, decode_iterations: int = 100, num_channels: int = 31) -> dict[str, Any]:
    """Load a run trained on the variable-magnitude env and analyse its channels at the reward phase."""
    cfg, agent, checkpoint = load_trained_agent(run_dir)
    env = gym.make(cfg.env.gym_id).unwrapped
    distribution = env.distribution
    if cfg.agent.reward_clip is not None:  # the agent learned the clipped rewards
        clip = cfg.agent.reward_clip
        clipped = np.clip(distribution.values, -clip, clip)
        atoms = np.unique(clipped)
        distribution = RewardDistribution(atoms, np.array([distribution.probs[clipped == a].sum() for a in atoms]))
    channels = channel_statistics(agent, env.observation(env.reward_phase), num_channels)
    result = analyze_agent(channels, distribution, decode_iterations)
    return {"run_dir": str(run_dir), "agent": cfg.agent.name, "checkpoint": checkpoint.name,
            "reward_clip": cfg.agent.reward_clip, **result}
