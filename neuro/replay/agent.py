"""A tabular Q-learning agent with a learned one-step model and a memory of what it lived.

Acting is ε-greedy (Sutton & Barto's Dyna-Q) or softmax (Mattar & Daw); ties between equal values are broken
at random (with Q = 0 everywhere an argmax that always picks action 0 would never leave the start row). The
model is deterministic, as the mazes are: the last outcome seen for each (s, a). The memory keeps every real
experience in the order lived, which is what a movie replay plays back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from neuro.replay.evb import nstep_targets
from neuro.replay.successor import softmax_policy

__all__ = ["Experience", "AgentParams", "TabularAgent", "POLICIES"]

POLICIES = ("epsilon_greedy", "softmax")


class Experience(NamedTuple):
    """One transition (s, a, r, s', terminal): the unit a backup replays."""

    state: int
    action: int
    reward: float
    next_state: int
    terminal: bool


@dataclass(frozen=True)
class AgentParams:
    """Learning rate α, discount γ, the policy (`epsilon_greedy` with ε or `softmax` with inverse temperature β)."""

    alpha: float = 0.1
    gamma: float = 0.95
    policy: str = "epsilon_greedy"
    epsilon: float = 0.1
    beta: float = 5.0

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"unknown policy {self.policy!r}; valid: {', '.join(POLICIES)}")
        if not (0 < self.alpha <= 1 and 0 <= self.gamma < 1 and 0 <= self.epsilon <= 1 and self.beta >= 0):
            raise ValueError(f"need 0 < alpha <= 1, 0 <= gamma < 1, 0 <= epsilon <= 1, beta >= 0; got {self}")


class TabularAgent:
    """Q [S, A], the learned model (`model_next` [S, A], −1 where unknown; `model_reward`, `model_terminal`)
    and `memory`, the list of real experiences in the order lived."""

    def __init__(self, num_states: int, num_actions: int, params: AgentParams) -> None:
        self.params = params
        self.q = np.zeros((num_states, num_actions))
        self.model_next = np.full((num_states, num_actions), -1, dtype=np.int64)
        self.model_reward = np.zeros((num_states, num_actions))
        self.model_terminal = np.zeros((num_states, num_actions), dtype=bool)
        self.memory: list[Experience] = []

    def policy(self, q_values: np.ndarray) -> np.ndarray:
        """π(a|s) [..., A] of the agent's behaviour for Q rows `q_values` [..., A]: softmax(β Q), or ε-greedy
        with the greedy share split evenly between tied best actions (ε = 0: greedy with random tie-breaking)."""
        q_values = np.asarray(q_values, dtype=np.float64)
        if self.params.policy == "softmax":
            return softmax_policy(q_values, self.params.beta)
        best = q_values == q_values.max(axis=-1, keepdims=True)
        greedy = best / best.sum(axis=-1, keepdims=True)
        return (1.0 - self.params.epsilon) * greedy + self.params.epsilon / q_values.shape[-1]

    def act(self, state: int, rng: np.random.Generator) -> int:
        """An action at `state` under the agent's policy (random tie-breaking for the greedy choice)."""
        q = self.q[state]
        if self.params.policy == "softmax":
            return int(rng.choice(q.size, p=softmax_policy(q, self.params.beta)))
        if rng.random() < self.params.epsilon:
            return int(rng.integers(q.size))
        return int(rng.choice(np.flatnonzero(q == q.max())))

    def target(self, experience: Experience) -> float:
        """The one-step Q-learning target r + γ (1 − terminal) max_a Q(s', a)."""
        if experience.terminal:
            return experience.reward
        return experience.reward + self.params.gamma * float(self.q[experience.next_state].max())

    def td_error(self, experience: Experience) -> float:
        return self.target(experience) - float(self.q[experience.state, experience.action])

    def learn(self, experience: Experience) -> float:
        """Real step: store in memory and model, one Q-learning update; returns the TD error before the update."""
        s, a = experience.state, experience.action
        delta = self.td_error(experience)
        self.q[s, a] += self.params.alpha * delta
        self.model_next[s, a] = experience.next_state
        self.model_reward[s, a] = experience.reward
        self.model_terminal[s, a] = experience.terminal
        self.memory.append(experience)
        return delta

    def modelled(self, state: int, action: int) -> Experience:
        """The model's experience for (state, action); it must be known."""
        return Experience(state, action, float(self.model_reward[state, action]), int(self.model_next[state, action]),
                          bool(self.model_terminal[state, action]))

    def known_pairs(self) -> np.ndarray:
        """[K, 2] the (state, action) pairs the model knows, in state-major order."""
        return np.argwhere(self.model_next >= 0)

    def backup(self, sequence: list[Experience]) -> None:
        """Replay `sequence` (one experience, or an n-step run of them): every (s_i, a_i) on it moves toward its
        return to the sequence's end bootstrapped with max_a Q there (`nstep_targets`), all targets taken
        before any update."""
        if len(sequence) == 1:
            experience = sequence[0]
            self.q[experience.state, experience.action] += self.params.alpha * self.td_error(experience)
            return
        last = sequence[-1]
        bootstrap = 0.0 if last.terminal else float(self.q[last.next_state].max())
        targets = nstep_targets(np.array([e.reward for e in sequence]), self.params.gamma, bootstrap)
        for experience, target in zip(sequence, targets, strict=True):
            s, a = experience.state, experience.action
            self.q[s, a] += self.params.alpha * (target - self.q[s, a])
