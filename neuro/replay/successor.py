"""The successor representation of a policy on a maze: where the agent expects to be, discounted.

Mattar & Daw (2018) measure a memory's *need* by how often, discounted, the agent will visit its state from
where it is now: the row of the successor representation M = Σ_t γ^t T^t = (I − γT)⁻¹ (Dayan 1993) at the
current state, with T the state-to-state transition matrix under the agent's current (softmax) policy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["softmax_policy", "policy_transition_matrix", "successor_representation", "need"]


def softmax_policy(q_values: np.ndarray, beta: float) -> np.ndarray:
    """π(a|s) ∝ exp(β Q(s, a)) along the last axis (any leading shape); β = inverse temperature."""
    z = beta * np.asarray(q_values, dtype=np.float64)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def policy_transition_matrix(next_state: np.ndarray, policy: np.ndarray, restart: np.ndarray,
                             goal_states: list[int], restart_states: tuple[int, ...] = ()) -> np.ndarray:
    """T[s, s'] = Σ_a π(a|s) 1{next_state[s, a] = s'} [S, S]; a goal state moves to its restart state with
    probability 1 (the episode boundary as Mattar & Daw model it: the agent is carried back to the start), or,
    where episodes start at random (`restart_states` non-empty), to each of `restart_states` equally often."""
    num_states = next_state.shape[0]
    transition = np.zeros((num_states, num_states))
    np.add.at(transition, (np.repeat(np.arange(num_states), next_state.shape[1]), next_state.ravel()), policy.ravel())
    for goal in goal_states:
        transition[goal] = 0.0
        if restart_states:
            transition[goal, list(restart_states)] = 1.0 / len(restart_states)
        else:
            transition[goal, restart[goal]] = 1.0
    return transition


def successor_representation(transition: np.ndarray, gamma: float) -> np.ndarray:
    """M = (I − γT)⁻¹ [S, S]: M[s, s'] = E[Σ_t γ^t 1{s_t = s'} | s_0 = s] (each row sums to 1/(1 − γ))."""
    if not 0 <= gamma < 1:
        raise ValueError(f"gamma must be in [0, 1) for the successor representation; got {gamma}")
    return np.linalg.inv(np.eye(transition.shape[0]) - gamma * transition)


def need(transition: np.ndarray, gamma: float, state: int) -> np.ndarray:
    """Need of every state seen from `state` [S]: the row M[state] (Mattar & Daw Eq. 4), by one linear solve."""
    size = transition.shape[0]
    unit = np.zeros(size)
    unit[state] = 1.0
    return np.linalg.solve((np.eye(size) - gamma * transition).T, unit)
