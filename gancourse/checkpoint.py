"""Checkpoints: models, optimisers, history, config and RNG state in one file, written atomically."""
from __future__ import annotations

import os
import random
from pathlib import Path

import torch


class CheckpointError(Exception):
    """A checkpoint that is missing, unreadable or does not fit the models; says what to do."""


def capture_rng() -> dict:
    """The state of every random number generator a training step draws from."""
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    """Put back what :func:`capture_rng` captured."""
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike, **state) -> None:
    """Write ``state`` (tensors, state dicts, plain Python values) to ``path`` atomically.

    The file is written beside the target and then renamed, so an interruption mid-write never
    leaves a half-written checkpoint in place of the last good one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`, with a clear error if it cannot be."""
    path = Path(path)
    if path.suffix != ".pt":  # a run directory
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train first "
                              f"(python -m gancourse train ... --out {path.parent})")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a damaged file
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or corrupted: "
                              f"{type(err).__name__}). Delete it to start fresh, or restore a "
                              f"copy.") from None
    if not isinstance(state, dict) or "G" not in state or "cfg" not in state:
        raise CheckpointError(f"{path} is a PyTorch file but not a gancourse checkpoint "
                              f"(expected keys 'G' and 'cfg')")
    return state
