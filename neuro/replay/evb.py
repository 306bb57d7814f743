"""Mattar & Daw (2018): the expected value of a backup, EVB = gain × need, for one-step and n-step backups.

A backup of the experience e_k = (s_k, a_k, r_k, s'_k) moves Q(s_k, a_k) toward its target. Its *gain*
(their Eq. 2-3) is how much the change of policy at s_k improves the value there, judged by the new values:

    gain = Σ_a [π_new(a|s_k) − π_old(a|s_k)] Q_new(s_k, a),

never negative for a greedy policy and ≥ 0 in practice for softmax. *Need* is the discounted expected number
of future visits to s_k (`neuro.replay.successor.need`). An n-step backup of a replayed sequence updates each
state on it toward its return to the sequence's end, bootstrapped there; its EVB is the need of the state the
sequence was last extended from times the summed gains of its updates (as the authors' code computes it:
`EVM = need(end) * sum(max(gain, baselineGain))`).
"""

from __future__ import annotations

import numpy as np

from neuro.replay.successor import softmax_policy

__all__ = ["updated_q", "gain", "expected_value_of_backup", "nstep_targets"]


def updated_q(q_rows: np.ndarray, actions: np.ndarray, targets: np.ndarray, alpha: float) -> np.ndarray:
    """Q rows after the backups Q(s, a) += α (target − Q(s, a)): `q_rows` [K, A], `actions` [K], `targets` [K]."""
    q_new = np.array(q_rows, dtype=np.float64, copy=True)
    rows = np.arange(q_new.shape[0])
    q_new[rows, actions] += alpha * (np.asarray(targets) - q_new[rows, actions])
    return q_new


def gain(q_rows: np.ndarray, actions: np.ndarray, targets: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """Gain [K] of K candidate backups (Mattar & Daw Eq. 3) under a softmax policy of inverse temperature β."""
    q_new = updated_q(q_rows, actions, targets, alpha)
    return ((softmax_policy(q_new, beta) - softmax_policy(q_rows, beta)) * q_new).sum(axis=-1)


def expected_value_of_backup(gains: np.ndarray, need_last: np.ndarray, min_gain: float = 0.0) -> np.ndarray:
    """EVB = need × Σ_i max(gain_i, min_gain): `gains` [..., n] of a sequence's n updates (n = 1 for a one-step
    backup), `need_last` [...] the need of its last updated state. `min_gain` > 0 lets need break ties between
    backups that gain nothing (Mattar & Daw's baseline gain, 1e-10)."""
    return np.asarray(need_last) * np.maximum(gains, min_gain).sum(axis=-1)


def nstep_targets(rewards: np.ndarray, gamma: float, bootstrap: float) -> np.ndarray:
    """Targets [n] of the n updates of an n-step sequence: G_i = Σ_{k≥i} γ^(k−i) r_k + γ^(n−i) `bootstrap`,
    the return from step i to the sequence's end plus the discounted value there (0 after a terminal step)."""
    rewards = np.asarray(rewards, dtype=np.float64)
    out = np.empty(rewards.size)
    running = bootstrap
    for i in range(rewards.size - 1, -1, -1):
        running = rewards[i] + gamma * running
        out[i] = running
    return out
