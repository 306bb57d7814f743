"""The recurrent actor-critic of Wang et al. 2016/2018: one LSTM whose input is the observation, the
previous action (one-hot), the previous reward and the step within the episode, read out by a linear
policy (logits over actions) and a linear critic (a scalar value).

With its weights frozen, everything the agent learns within an episode lives in the LSTM state; that is
the "learned learning algorithm" the study is about.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["RecurrentActorCritic", "agent_inputs"]


def agent_inputs(obs: Tensor, prev_action: Tensor, prev_reward: Tensor, step: Tensor, num_actions: int,
                 episode_steps: int) -> Tensor:
    """The LSTM's input [B, O + A + 2]: obs [B, O], one-hot prev_action [B] (all zeros at an episode's
    first step, where prev_action is −1), prev_reward [B], and step [B] scaled to [0, 1) by episode_steps."""
    one_hot = torch.zeros(prev_action.shape[0], num_actions, dtype=obs.dtype, device=obs.device)
    taken = prev_action >= 0
    one_hot[taken, prev_action[taken]] = 1.0
    return torch.cat([obs, one_hot, prev_reward.unsqueeze(-1).to(obs.dtype),
                      (step.to(obs.dtype) / episode_steps).unsqueeze(-1)], dim=-1)


class RecurrentActorCritic(nn.Module):
    """LSTMCell(input_size, hidden_size) → policy logits [B, A] and value [B]."""

    def __init__(self, input_size: int, num_actions: int, hidden_size: int = 48) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.cell = nn.LSTMCell(input_size, hidden_size)
        self.policy = nn.Linear(hidden_size, num_actions)
        self.value = nn.Linear(hidden_size, 1)
        nn.init.normal_(self.policy.weight, std=0.01)  # a near-uniform first policy
        nn.init.zeros_(self.policy.bias)

    def initial_state(self, batch_size: int) -> tuple[Tensor, Tensor]:
        zeros = torch.zeros(batch_size, self.hidden_size)
        return zeros, zeros.clone()

    def forward(self, inputs: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor]]:
        """One step: (logits [B, A], value [B], new (h, c))."""
        h, c = self.cell(inputs, state)
        return self.policy(h), self.value(h).squeeze(-1), (h, c)
