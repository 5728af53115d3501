"""Shared fixtures: tiny in-memory data and an environment that never touches the network."""
import os
from pathlib import Path

import pytest
import torch

from gancourse.data import ImageData

MIRROR = Path(os.environ.get("GANCOURSE_DATA", "")) if os.environ.get("GANCOURSE_DATA") else None


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Tests never download: they exercise the offline paths deterministically."""
    monkeypatch.setenv("GANCOURSE_OFFLINE", "1")


@pytest.fixture
def tiny_data() -> ImageData:
    """96 random 'images' in [-1, 1] with labels: enough to run every training path."""
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(96, 1, 28, 28, generator=gen) * 2 - 1
    labels = torch.randint(10, (96,), generator=gen)
    return ImageData(images, labels, "tiny", "train", "test fixture", tuple("0123456789"))


def mirror_has(folder: str) -> bool:
    """Whether $GANCOURSE_DATA holds the full dataset ``folder`` (CI sets it; laptops may not)."""
    return MIRROR is not None and (MIRROR / folder / "raw" / "t10k-images-idx3-ubyte").is_file()
