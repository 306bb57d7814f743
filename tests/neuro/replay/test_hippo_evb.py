"""The successor representation, gain, need and EVB of Mattar & Daw on a 3-state track, by hand.

The track: states 0 – 1 – 2, state 2 the goal (entered from 1 by "right"; the goal returns to 0). Actions
left, right; "left" at 0 stays. Uniform policy, γ = 0.9, so T = [[.5, .5, 0], [.5, 0, .5], [1, 0, 0]] and the
need row from 0, m = e₀ (I − γT)⁻¹, solves m₁ = 0.45 m₀, m₂ = 0.45 m₁, 0.55 m₀ − 0.45 m₁ − 0.9 m₂ = 1:
m₀ = 1 / (0.55 − 0.2025 − 0.18225) = 1 / 0.16525 = 6.05144, m₁ = 2.72315, m₂ = 1.22542 (sum 1/(1 − γ) = 10).
Backing up (1, right, r = 1, terminal) with α = 1 from Q(1) = [0, 0] gives Q(1) = [0, 1]; with β = 1,
π goes from [.5, .5] to [1/(1+e), e/(1+e)] = [.268941, .731059], so gain = (.731059 − .5)·1 = .231059 and
EVB from state 0 = .231059 × 2.72315 = .629206.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro.replay.evb import expected_value_of_backup, gain, nstep_targets, updated_q
from neuro.replay.successor import need, policy_transition_matrix, softmax_policy, successor_representation

NEXT = np.array([[0, 1], [0, 2], [2, 2]])  # [S, A]: left, right


def track_transition(policy: np.ndarray) -> np.ndarray:
    return policy_transition_matrix(NEXT, policy, restart=np.array([0, 1, 0]), goal_states=[2])


def test_softmax_policy() -> None:
    np.testing.assert_allclose(softmax_policy(np.array([0.0, 1.0]), 1.0), [1 / (1 + np.e), np.e / (1 + np.e)])
    np.testing.assert_allclose(softmax_policy(np.zeros((3, 4)), 5.0), np.full((3, 4), 0.25))
    np.testing.assert_allclose(softmax_policy(np.array([1000.0, 0.0]), 1.0), [1.0, 0.0])  # no overflow


def test_successor_representation_by_hand() -> None:
    transition = track_transition(np.full((3, 2), 0.5))
    np.testing.assert_allclose(transition, [[0.5, 0.5, 0], [0.5, 0, 0.5], [1, 0, 0]])
    m = successor_representation(transition, 0.9)
    np.testing.assert_allclose(m[0], [6.051437, 2.723147, 1.225416], atol=1e-6)
    np.testing.assert_allclose(m.sum(axis=1), 10.0)
    np.testing.assert_allclose(need(transition, 0.9, 0), m[0])
    series = sum(np.linalg.matrix_power(0.9 * transition, t) for t in range(400))  # Σ γ^t T^t
    np.testing.assert_allclose(m, series, atol=1e-9)
    with pytest.raises(ValueError, match="gamma must be in"):
        successor_representation(transition, 1.0)


def test_gain_need_and_evb_by_hand() -> None:
    q_rows = np.zeros((1, 2))
    np.testing.assert_allclose(updated_q(q_rows, np.array([1]), np.array([1.0]), 1.0), [[0, 1]])
    g = gain(q_rows, np.array([1]), np.array([1.0]), alpha=1.0, beta=1.0)
    np.testing.assert_allclose(g, [np.e / (1 + np.e) - 0.5], atol=1e-12)
    np.testing.assert_allclose(g, [0.231059], atol=1e-6)
    n = need(track_transition(np.full((3, 2), 0.5)), 0.9, 0)
    np.testing.assert_allclose(expected_value_of_backup(g[:, None], n[1]), [0.629206], atol=1e-6)
    # half a step (α = 0.5): Q(1) = [0, .5], π_new = [1/(1+e^.5), e^.5/(1+e^.5)], gain = (.622459 − .5)·.5
    np.testing.assert_allclose(gain(q_rows, np.array([1]), np.array([1.0]), 0.5, 1.0), [0.061230], atol=1e-6)
    # a backup that lowers the value of the unchosen action changes nothing worth having: gain 0 at β = 0
    assert gain(np.array([[1.0, 0.0]]), np.array([1]), np.array([0.5]), 1.0, 0.0)[0] == pytest.approx(0.0)


def test_min_gain_lets_need_break_ties_and_sequences_sum_gains() -> None:
    evb = expected_value_of_backup(np.zeros((2, 1)), np.array([1.0, 3.0]), min_gain=1e-10)
    np.testing.assert_allclose(evb, [1e-10, 3e-10])
    np.testing.assert_allclose(expected_value_of_backup(np.array([0.2, 0.0, 0.1]), 2.0, min_gain=0.0), 0.6)


def test_nstep_targets_by_hand() -> None:
    np.testing.assert_allclose(nstep_targets(np.array([0.0, 0.0, 1.0]), 0.9, 0.0), [0.81, 0.9, 1.0])
    np.testing.assert_allclose(nstep_targets(np.array([0.0, 0.0]), 0.5, 4.0), [1.0, 2.0])  # γ² V, γ V


def test_random_starts_send_the_goal_to_every_start_equally() -> None:
    transition = policy_transition_matrix(NEXT, np.full((3, 2), 0.5), np.array([0, 1, 0]), [2], restart_states=(0, 1))
    np.testing.assert_allclose(transition[2], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(transition[:2], track_transition(np.full((3, 2), 0.5))[:2])


def test_behaviour_policy_of_the_agent() -> None:
    from neuro.replay.agent import AgentParams, TabularAgent

    q = np.array([[0.0, 1.0, 1.0, 0.5], [0.0, 0.0, 0.0, 0.0]])
    greedy = TabularAgent(2, 4, AgentParams(policy="epsilon_greedy", epsilon=0.0))
    np.testing.assert_allclose(greedy.policy(q), [[0, 0.5, 0.5, 0], [0.25] * 4])  # ties split evenly
    eps = TabularAgent(2, 4, AgentParams(policy="epsilon_greedy", epsilon=0.2))
    np.testing.assert_allclose(eps.policy(q)[0], [0.05, 0.45, 0.45, 0.05])
    soft = TabularAgent(2, 4, AgentParams(policy="softmax", beta=5.0))
    np.testing.assert_allclose(soft.policy(q), softmax_policy(q, 5.0))
