"""Loading a trained run and drawing samples from a generator."""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from gancourse.checkpoint import CheckpointError, load_checkpoint
from gancourse.config import TrainConfig, config_from_dict
from gancourse.models import build_models


@torch.no_grad()
def sample(G: nn.Module, n: int | None = None, labels: Tensor | None = None,
           z: Tensor | None = None, batch_size: int = 500) -> Tensor:
    """Draw ``n`` images in [-1, 1] (toy-gan: points (n, 2)) from G (eval mode, no gradients), in
    batches, on the CPU.

    Pass ``z`` to use fixed noise instead of fresh noise; ``labels`` (N,) for conditional models.
    G's train/eval mode is restored afterwards.
    """
    if z is None and (n is None or n <= 0):
        raise ValueError(f"expected a positive number of samples n, got {n}")
    device = next(G.parameters()).device
    if z is None:
        z = torch.randn(n, G.latent_dim)
    conditional = getattr(G, "num_classes", 0) > 0
    if labels is not None:
        labels = torch.as_tensor(labels, dtype=torch.long)  # a list or an array works too
    if labels is not None and not conditional:
        raise ValueError(f"{type(G).__name__} is unconditional: it takes no labels")
    if conditional and labels is None:
        labels = torch.arange(len(z)) % G.num_classes  # every class in turn
    if labels is not None and len(labels) != len(z):
        raise ValueError(f"expected {len(z)} labels, one per sample, got {len(labels)}")
    was_training = G.training
    G.eval()
    try:
        chunks = []
        for i in range(0, len(z), batch_size):
            z_i = z[i:i + batch_size].to(device)
            args = (z_i, labels[i:i + batch_size].to(device)) if conditional else (z_i,)
            chunks.append(G(*args).cpu())
    finally:
        G.train(was_training)
    return torch.cat(chunks)


def load(run_dir: str | os.PathLike, G: nn.Module | None = None,
         map_location: str | torch.device = "cpu", averaged: bool = True) -> tuple[nn.Module, TrainConfig]:
    """Load a run's trained generator (in eval mode) and its config from ``run_dir``.

    The generator is rebuilt from the config's model name unless you pass your own ``G``. A run
    trained with ``ema`` gives the moving average of G's weights (``averaged=False``: the last G).
    """
    state = load_checkpoint(Path(run_dir), map_location=map_location)
    cfg = config_from_dict(state["cfg"])
    if "G" not in state:
        raise CheckpointError(f"{run_dir} holds a {cfg.model} run without a generator: nothing to sample "
                              f"from (load its networks with torch.load)")
    if G is None:
        G, _ = build_models(cfg.model, latent_dim=cfg.latent_dim, **cfg.model_kwargs)
    try:
        G.load_state_dict(state["G_ema" if averaged and "G_ema" in state else "G"])
    except RuntimeError as err:
        raise CheckpointError(f"the generator in {run_dir} does not fit {type(G).__name__}: "
                              f"{str(err).splitlines()[0]}") from None
    return G.to(map_location).eval(), cfg
