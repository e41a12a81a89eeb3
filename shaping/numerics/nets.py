"""Seed-batched network templates for functional policies.

Each module here is a *template*: its registered parameters fix names and shapes, but it is
always called through `torch.func.functional_call` with parameters that carry a leading seed
dimension, [S, *shape]. Inputs are [S, N, features]. One batched matrix multiply then serves
every seed at once, so a match over 64 seeds costs about what one seed costs.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn


class SeedBatchedModule(nn.Module):
    """Base class: knows the fan-in of each of its parameters for initialisation."""

    def fan_in(self, name: str) -> int:
        """Fan-in used to scale the initialisation of parameter `name` (dotted path)."""
        owner_path, _, local = name.rpartition(".")
        owner = self.get_submodule(owner_path) if owner_path else self
        if owner is self:
            raise NotImplementedError(f"{type(self).__name__} must define fan_in for {local}")
        return owner.fan_in(local)


class BatchedLinear(SeedBatchedModule):
    """y = x W + b with per-seed W [S, in, out] and b [S, out]."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.in_features = in_features
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.empty(out_features))

    def fan_in(self, name: str) -> int:
        return self.in_features

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias.unsqueeze(-2), x, self.weight)


_ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "silu": nn.functional.silu}


class BatchedMLP(SeedBatchedModule):
    """A feed-forward network of `BatchedLinear` layers; the last layer has no activation."""

    def __init__(self, sizes: tuple[int, ...], activation: str = "relu") -> None:
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"an MLP needs at least input and output sizes, got {sizes}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; known: {sorted(_ACTIVATIONS)}")
        self.sizes = tuple(sizes)
        self.activation = _ACTIVATIONS[activation]
        self.layers = nn.ModuleList(BatchedLinear(i, o) for i, o in itertools.pairwise(sizes))

    def forward(self, x: Tensor) -> Tensor:
        for index, layer in enumerate(self.layers):
            x = layer(x)
            if index < len(self.layers) - 1:
                x = self.activation(x)
        return x


class BatchedGRUCell(SeedBatchedModule):
    """A GRU cell (PyTorch's gate equations) with per-seed weights."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(input_size, 3 * hidden_size))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, 3 * hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size))

    def fan_in(self, name: str) -> int:
        return self.hidden_size

    def forward(self, x: Tensor, hidden: Tensor) -> Tensor:
        gates_x = torch.baddbmm(self.bias_ih.unsqueeze(-2), x, self.weight_ih)
        gates_h = torch.baddbmm(self.bias_hh.unsqueeze(-2), hidden, self.weight_hh)
        reset_x, update_x, new_x = gates_x.chunk(3, dim=-1)
        reset_h, update_h, new_h = gates_h.chunk(3, dim=-1)
        reset = torch.sigmoid(reset_x + reset_h)
        update = torch.sigmoid(update_x + update_h)
        candidate = torch.tanh(new_x + reset * new_h)
        return torch.lerp(candidate, hidden, update)


class RecurrentPolicyNet(SeedBatchedModule):
    """Encoder MLP -> GRU cell -> linear head: a memory-carrying categorical policy."""

    def __init__(self, observation_size: int, hidden_size: int, num_actions: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.encoder = BatchedMLP((observation_size, hidden_size), activation="relu")
        self.cell = BatchedGRUCell(hidden_size, hidden_size)
        self.head = BatchedLinear(hidden_size, num_actions)

    def initial_hidden(self, seeds: int, batch: int, device: torch.device | str) -> Tensor:
        """All-zero memory at the start of every episode."""
        return torch.zeros(seeds, batch, self.hidden_size, device=device)

    def forward(self, x: Tensor, hidden: Tensor) -> tuple[Tensor, Tensor]:
        hidden = self.cell(torch.relu(self.encoder(x)), hidden)
        return self.head(hidden), hidden
