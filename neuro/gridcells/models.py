"""The two path-integration networks, in PyTorch.

Both read the start of a trajectory as the place (and head-direction) targets at its first position, integrate
velocity inputs, and predict the place-cell (and head-direction) distribution at every later step; the
"code" analysed for grid-like firing is the layer between the recurrence and the readouts.

- `BaninoNet` (Banino et al. 2018, Methods and `model.py`): an LSTM whose initial cell and hidden states are
  linear in the initial targets, a linear bottleneck without bias, dropout on it during training, and linear
  place and head-direction readouts (softmax cross-entropy; L2 on the readout weights).
- `SorscherRNN` (Sorscher et al. 2019/2023, `model.py`): a vanilla RNN with ReLU units (nonnegative) and no
  biases, initial state linear in the initial place targets, a linear place readout (cross-entropy; L2 on the
  recurrent weights). Its hidden units are the code.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["BaninoNet", "SorscherRNN", "PathIntegrator", "soft_cross_entropy", "target_entropy"]


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over batch and time of −Σ_i y_i log softmax(z)_i, for target distributions y [..., N]."""
    return -(targets * torch.log_softmax(logits, dim=-1)).sum(-1).mean()


def target_entropy(targets: torch.Tensor) -> torch.Tensor:
    """Mean over batch and time of −Σ_i y_i ln y_i (0 ln 0 = 0): the floor of `soft_cross_entropy`, reached when
    softmax(z) = y; cross-entropy minus it is the KL divergence, the part of the loss a network can remove.
    DoG targets are shifted so that one cell is exactly 0, hence `xlogy`."""
    return -torch.xlogy(targets, targets).sum(-1).mean()


class PathIntegrator(nn.Module):
    """What the trainer and the analyses rely on: `forward(inputs, init) -> (code, place_logits, hd_logits|None)`
    with inputs [B, T, I], init [B, C] and outputs [B, T, ·], and `regularizer()`, the L2 term of the loss."""

    def regularizer(self) -> torch.Tensor:
        raise NotImplementedError


class BaninoNet(PathIntegrator):
    def __init__(self, input_size: int, init_size: int, lstm_units: int, bottleneck_units: int, place_cells: int,
                 hd_cells: int, dropout: float, weight_decay: float) -> None:
        super().__init__()
        self.init_hidden = nn.Linear(init_size, lstm_units)
        self.init_cell = nn.Linear(init_size, lstm_units)
        self.lstm = nn.LSTM(input_size, lstm_units, batch_first=True)
        self.bottleneck = nn.Linear(lstm_units, bottleneck_units, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.place_readout = nn.Linear(bottleneck_units, place_cells)
        self.hd_readout = nn.Linear(bottleneck_units, hd_cells)
        self.weight_decay = weight_decay

    def forward(self, inputs: torch.Tensor, init: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        state = (self.init_hidden(init)[None], self.init_cell(init)[None])
        hidden, _ = self.lstm(inputs, state)
        code = self.bottleneck(hidden)
        dropped = self.dropout(code)
        return code, self.place_readout(dropped), self.hd_readout(dropped)

    def regularizer(self) -> torch.Tensor:
        return self.weight_decay * (self.place_readout.weight.square().sum() + self.hd_readout.weight.square().sum())


class SorscherRNN(PathIntegrator):
    def __init__(self, input_size: int, place_cells: int, hidden_units: int, weight_decay: float) -> None:
        super().__init__()
        self.encoder = nn.Linear(place_cells, hidden_units, bias=False)
        self.rnn = nn.RNN(input_size, hidden_units, nonlinearity="relu", bias=False, batch_first=True)
        self.decoder = nn.Linear(hidden_units, place_cells, bias=False)
        self.weight_decay = weight_decay

    def forward(self, inputs: torch.Tensor, init: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
        code, _ = self.rnn(inputs, self.encoder(init)[None])
        return code, self.decoder(code), None

    def regularizer(self) -> torch.Tensor:
        return self.weight_decay * self.rnn.weight_hh_l0.square().sum()
