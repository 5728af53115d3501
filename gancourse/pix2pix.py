"""pix2pix on data that works offline: paired images built from MNIST / Fashion-MNIST, training
steps for :func:`gancourse.train.train_gan`, translation and image-quality measures.

A pair is (input x, target y), both (1, 32, 32) in [-1, 1] (28x28 padded with background):
- ``edges``: y's Sobel edge map -> y. Texture and fill are not in the edges: L1 alone averages them.
- ``lowres``: y reduced to 8x8 and blown up again -> y (4x super-resolution).
- ``thick``: y -> y with its strokes thickened by one pixel on each side (a 3x3 maximum).

:func:`load_unpaired` splits a task's pairs into two domains that never share an item (CycleGAN).
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gancourse.checkpoint import save_checkpoint
from gancourse.data import Batches, load_dataset
from gancourse.losses import pix2pix_discriminator_loss, pix2pix_generator_loss
from gancourse.paths import CACHE_DIR
from gancourse.train import finite, frozen, gradient_norm

TASKS = ("edges", "lowres", "thick")
SIZE = 32  # 28 padded by 2 on each side: a U-Net of depth 5 halves it down to 1x1


@dataclass
class Pairs:
    """Paired images: ``inputs`` and ``targets`` (N, 1, 32, 32) in [-1, 1], with class labels."""

    inputs: Tensor
    targets: Tensor
    labels: Tensor
    name: str

    def __len__(self) -> int:
        return len(self.inputs)


def pad(images: Tensor) -> Tensor:
    """(N, 1, 28, 28) -> (N, 1, 32, 32), padded with the background value -1."""
    return F.pad(images, (2, 2, 2, 2), value=-1.0)


def edges(images: Tensor, threshold: float = 0.5) -> Tensor:
    """Binary Sobel edge maps in {-1, 1} (edge = 1) of images in [-1, 1]."""
    x = (images + 1) / 2
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]).view(1, 1, 3, 3)
    gx, gy = F.conv2d(x, kx, padding=1), F.conv2d(x, kx.transpose(2, 3), padding=1)
    return ((gx ** 2 + gy ** 2).sqrt() > threshold).float() * 2 - 1


def lowres(images: Tensor, factor: int = 4) -> Tensor:
    """Average-pool by ``factor`` and blow back up (nearest): what a 4x super-resolution starts from."""
    return F.interpolate(F.avg_pool2d(images, factor), scale_factor=factor, mode="nearest")


def thicken(images: Tensor) -> Tensor:
    """Strokes grown by one pixel on each side: the 3x3 maximum around each pixel (a dilation)."""
    return F.max_pool2d(images, 3, stride=1, padding=1)


def load_pairs(dataset: str = "fashion-mnist", split: str = "train", task: str = "edges", *,
               root=None, cache_dir: str | os.PathLike | None = None) -> Pairs:
    """The pairs of ``task`` built from ``dataset``'s ``split``, cached after the first call.

    The cache is ``data/cache/`` in a checkout, the user cache folder when installed
    (:mod:`gancourse.paths`).
    """
    if task not in TASKS:
        raise ValueError(f"unknown pix2pix task {task!r}; choose one of {', '.join(TASKS)}")
    data = load_dataset(dataset, split, root)
    source = "full" if "sample" not in data.source else "sample"
    cache = Path(cache_dir or CACHE_DIR) / f"pairs_{dataset}_{task}_{split}_{source}.pt"
    if cache.exists():
        try:
            state = torch.load(cache, weights_only=True)
            return Pairs(state["inputs"], state["targets"], state["labels"], f"{dataset} {task} {split}")
        except Exception:  # noqa: BLE001 - a damaged cache is rebuilt, not fatal
            cache.unlink()
    images = pad(data.images)
    if task == "thick":  # the digit is the input, its thickened strokes the target
        inputs, targets = images, thicken(images)
    else:
        inputs, targets = (edges(images) if task == "edges" else lowres(images)), images
    save_checkpoint(cache, inputs=inputs, targets=targets, labels=data.labels)  # atomic
    return Pairs(inputs, targets, data.labels, f"{dataset} {task} {split}")


@dataclass
class Unpaired:
    """Two domains built from one task's pairs without sharing an item: ``a`` holds the inputs of
    one half of the items (e.g. edge maps), ``b`` the targets of the other half (the garments), so
    no a has its own b anywhere in the data."""

    a: Tensor
    b: Tensor
    name: str


def load_unpaired(dataset: str = "fashion-mnist", split: str = "train", task: str = "edges", *,
                  root=None, cache_dir: str | os.PathLike | None = None) -> Unpaired:
    """The two domains of ``task`` from ``dataset``'s ``split``: a fixed random half of the items
    gives domain A (their inputs), the other half domain B (their targets)."""
    pairs = load_pairs(dataset, split, task, root=root, cache_dir=cache_dir)
    order = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(0))
    half = len(pairs) // 2
    return Unpaired(pairs.inputs[order[:half]], pairs.targets[order[half:2 * half]],
                    f"{dataset} {task} {split}, unpaired")


class UnpairedBatches:
    """Batches (a, b) for step t: a from domain A and b from domain B, each in its own seeded order
    (a pure function of t, as :class:`gancourse.data.Batches`), so an a and a b never come as a pair."""

    def __init__(self, a: Tensor, b: Tensor, batch_size: int = 64, seed: int = 0, device=None, *,
                 rank: int = 0, world_size: int = 1) -> None:
        self.a = Batches(a, None, batch_size, seed, device, rank=rank, world_size=world_size)
        self.b = Batches(b, None, batch_size, seed + 7919, device, rank=rank, world_size=world_size)

    def __call__(self, step: int) -> tuple[Tensor, Tensor]:
        return self.a(step)[0], self.b(step)[0]


def make_steps(lambda_l1: float = 100.0, adversarial: bool = True) -> dict:
    """``d_step`` and ``g_step`` for train_gan on batches (targets, inputs): GAN + L1 by default;
    ``adversarial=False`` is "L1 only", ``lambda_l1=0`` is "GAN only"."""

    def d_step(G: nn.Module, D: nn.Module, batch: tuple[Tensor, Tensor], opt_d, d_loss: Callable) -> dict:
        """(1) D: (x, y) real, (x, G(x)) fake, patch by patch."""
        target, x = batch
        if not adversarial:
            return {"loss_d": 0.0, "d_real": 0.0, "d_fake": 0.0}
        fake = G(x).detach()  # D's update must not flow back into G
        real_logits, fake_logits = D(x, target), D(x, fake)
        loss = d_loss(real_logits, fake_logits)
        loss_d = finite("the discriminator loss", loss)
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        opt_d.step()
        return {"loss_d": loss_d, "d_real": torch.sigmoid(real_logits).mean().item(),
                "d_fake": torch.sigmoid(fake_logits).mean().item()}

    def g_step(G: nn.Module, D: nn.Module, batch: tuple[Tensor, Tensor], opt_g, g_loss: Callable) -> dict:
        """(2) G: fool D on every patch and stay close to y in L1."""
        target, x = batch
        with frozen(D):  # D is not trained here: skip its weights' gradients
            fake = G(x)
            fake_logits = D(x, fake) if adversarial else None
            loss = g_loss(fake_logits, fake, target, lambda_l1)
            loss_g = finite("the generator loss", loss)
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
        grad_norm = gradient_norm(G)
        opt_g.step()
        d_fake = torch.sigmoid(fake_logits).mean().item() if fake_logits is not None else 0.0
        # l1: pixels in [-1, 1], as the loss sees them (image_scores' L1, in [0, 1], is half of it)
        return {"loss_g": loss_g, "l1": (fake - target).abs().mean().item(), "d_fake_g": d_fake,
                "grad_norm_g": grad_norm}

    return {"d_step": d_step, "g_step": g_step, "d_loss": pix2pix_discriminator_loss,
            "g_loss": pix2pix_generator_loss}


@torch.no_grad()
def translate(G: nn.Module, inputs: Tensor, batch_size: int = 500, *, dropout: bool = False,
              seed: int | None = None) -> Tensor:
    """G(inputs) in batches, on the CPU, with BatchNorm on its running (training) statistics.

    ``dropout=False`` (the default) switches dropout off: one fixed output per input.
    ``dropout=True`` keeps it on, as the pix2pix paper does at test time, where dropout is G's only
    noise: each call draws other outputs; ``seed`` makes a draw repeatable. (The paper also
    normalises with the test batch's own statistics; here an output depends on its input alone.)
    """
    if inputs.dim() != 4 or inputs.shape[1] != G.in_channels:
        raise ValueError(f"expected inputs of shape (N, {G.in_channels}, H, W), got {tuple(inputs.shape)}")
    device, was_training = next(G.parameters()).device, G.training
    G.eval()
    if dropout:
        for module in G.modules():
            if isinstance(module, nn.Dropout):
                module.train()  # dropout on, BatchNorm still on its running statistics
    # a seeded draw leaves the global random state as it found it; an unseeded one moves it on
    seeded = torch.random.fork_rng(devices=[device] if device.type == "cuda" else []) if seed is not None \
        else contextlib.nullcontext()
    try:
        with seeded:
            if seed is not None:
                torch.manual_seed(seed)
            return torch.cat([G(inputs[i:i + batch_size].to(device)).cpu()
                              for i in range(0, len(inputs), batch_size)])
    finally:
        G.train(was_training)


def image_scores(fake: Tensor, target: Tensor) -> dict:
    """Mean L1, PSNR (dB) and SSIM between translations and targets given in [-1, 1], all three
    measured on pixels in [0, 1]: this L1 is half the training L1, which works in [-1, 1]."""
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    a, b = (fake.clamp(-1, 1) + 1) / 2, (target + 1) / 2  # [0, 1]
    return {"l1": (a - b).abs().mean().item(),
            "psnr": peak_signal_noise_ratio(a, b, data_range=1.0).item(),
            "ssim": structural_similarity_index_measure(a, b, data_range=1.0).item()}


# The TrainConfig fields a pix2pix run reads (no latent_dim, loss zoo, penalty or clipping).
CONFIG_FIELDS = ("model", "dataset", "task", "batch_size", "optimizer", "lr_d", "lr_g", "beta1", "beta2",
                 "k", "lr_schedule", "num_steps", "minutes", "seed", "checkpoint_every", "model_kwargs",
                 "channels_last", "lambda_l1", "adversarial")


def config_summary(cfg) -> str:
    """The fields of ``cfg`` that pix2pix uses, as ``name=value, ...``: the record of a pix2pix run."""
    return ", ".join(f"{name}={getattr(cfg, name)!r}" for name in CONFIG_FIELDS)


def crop28(images: Tensor) -> Tensor:
    """(N, 1, 32, 32) -> the central (N, 1, 28, 28), for the 28x28 domain classifier."""
    return images[..., 2:30, 2:30]
