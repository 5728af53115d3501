"""Device choice, seeding and profile selection."""
from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch

from gancourse.config import PROFILE_NAMES


def get_device(verbose: bool = True) -> torch.device:
    """Pick CUDA, then Apple MPS, then CPU, and say which (and why) when ``verbose``."""
    if torch.cuda.is_available():
        device, why = torch.device("cuda"), torch.cuda.get_device_name(0)
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        device, why = torch.device("mps"), "Apple GPU"
    else:
        device, why = torch.device("cpu"), f"no GPU found, {torch.get_num_threads()} threads"
    if verbose:
        print(f"device: {device} ({why})")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices) so a run repeats."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS generators


def pick_profile(device: torch.device | str | None = None, requested: str | None = None) -> str:
    """Choose a training profile: ``requested``, else ``$GANCOURSE_PROFILE``, else by device.

    A GPU gets ``gpu`` (``colab`` inside Google Colab, whose free sessions are short); MPS and CPU
    get ``cpu``. ``quick`` is only ever chosen explicitly.
    """
    choice = requested or os.environ.get("GANCOURSE_PROFILE") or None
    if choice:
        if choice not in PROFILE_NAMES:
            where = "" if requested else " (from GANCOURSE_PROFILE)"
            raise ValueError(f"unknown profile {choice!r}{where}; choose one of {', '.join(PROFILE_NAMES)}")
        return choice
    device = torch.device(device) if device is not None else get_device(verbose=False)
    if device.type != "cuda":
        return "cpu"
    return "colab" if in_colab() else "gpu"


def in_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ
