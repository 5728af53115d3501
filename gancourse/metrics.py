"""Measuring samples in the features of the domain classifier: FID, KID, accuracy, coverage."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from gancourse.classifier import predict


class _Features(nn.Module):
    """Adapter: torchmetrics calls ``feature(images)`` and reads ``num_features``."""

    def __init__(self, clf: nn.Module) -> None:
        super().__init__()
        self.clf, self.num_features = clf.eval(), clf.num_features

    def forward(self, x: Tensor) -> Tensor:
        return self.clf.features(x.float()).double()  # torchmetrics accumulates in float64


def _check(images: Tensor, name: str) -> None:
    if images.dim() != 4 or images.shape[1:] != (1, 28, 28):
        raise ValueError(f"expected {name} of shape (N, 1, 28, 28) in [-1, 1], got {tuple(images.shape)}")


@torch.no_grad()
def fid(clf: nn.Module, real: Tensor, fake: Tensor, batch_size: int = 1000) -> float:
    """Fréchet distance between real and generated images in the classifier's feature space."""
    _check(real, "real images"), _check(fake, "generated images")
    metric = FrechetInceptionDistance(feature=_Features(clf), normalize=True)
    for images, is_real in ((real, True), (fake, False)):
        for i in range(0, len(images), batch_size):
            metric.update(images[i:i + batch_size], real=is_real)
    return metric.compute().item()


@torch.no_grad()
def kid(clf: nn.Module, real: Tensor, fake: Tensor, subset_size: int = 1000) -> tuple[float, float]:
    """Kernel distance (mean, std over subsets) in the classifier's feature space."""
    _check(real, "real images"), _check(fake, "generated images")
    size = min(subset_size, len(real), len(fake))
    metric = KernelInceptionDistance(feature=_Features(clf), subset_size=size, normalize=True)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    mean, std = metric.compute()
    return mean.item(), std.item()


def accuracy(clf: nn.Module, images: Tensor, labels: Tensor) -> float:
    """Share of ``images`` the classifier assigns to the requested ``labels``."""
    _check(images, "images")
    return (predict(clf, images).argmax(1) == labels.cpu()).float().mean().item()


def coverage(clf: nn.Module, images: Tensor, num_classes: int = 10) -> dict:
    """Histogram of predicted classes and its entropy in nats (log 10 = 2.303 is all classes equally)."""
    _check(images, "images")
    counts = torch.bincount(predict(clf, images).argmax(1), minlength=num_classes)
    p = counts.double() / counts.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum().item()
    return {"counts": counts.tolist(), "entropy": entropy, "max_entropy": math.log(num_classes)}
