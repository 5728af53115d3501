"""The training loop: Algorithm 1 of the GAN paper, built from two step functions.

Each step function takes ``(G, D, batch, optimizer, loss_fn)`` and returns a dict of floats, so a
student's own loss or step plugs into :func:`train_gan` unchanged. The bookkeeping around the steps
(budget, checkpoints, resume, progress, Ctrl-C) lives in :mod:`gancourse.run`.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

from gancourse import distributed
from gancourse.config import TrainConfig
from gancourse.data import Batches, ImageData
from gancourse.ema import averaged_copy, update_average
from gancourse.losses import LOSSES, PENALTIES, discriminator_loss
from gancourse.run import (TrainingDiverged, check_resumable, make_optimizer, make_scheduler,  # noqa: F401
                           progress_interval, run_loop, write_history)
from gancourse.toy import TOY_DATASETS

Callback = Callable[[int, nn.Module, nn.Module, list], None]
__all__ = ["TrainingDiverged", "as_batches", "imbalanced", "check_resumable", "critic_step", "discriminator_step",
           "family_steps", "finite", "frozen", "generator_step", "gradient_norm", "make_optimizer",
           "progress_interval", "steps_for", "train_gan", "write_history", "data_fingerprint"]


def finite(name: str, loss: Tensor) -> float:
    """``loss`` as a float, or TrainingDiverged before it can reach the weights."""
    value = loss.item()
    if not math.isfinite(value):
        raise TrainingDiverged(f"{name} became {value}")
    return value


def gradient_norm(model: nn.Module) -> float:
    """The L2 norm of all of ``model``'s parameter gradients together."""
    grads = [p.grad.norm() for p in model.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(grads)).item() if grads else 0.0


@contextmanager
def frozen(model: nn.Module):
    """Inside the block, ``model``'s weights get no gradients (the loss still flows through it)."""
    model.requires_grad_(False)
    try:
        yield model
    finally:
        model.requires_grad_(True)


def discriminator_step(G: nn.Module, D: nn.Module, batch: tuple[Tensor, Tensor],
                       opt_d: torch.optim.Optimizer, d_loss: Callable = discriminator_loss) -> dict:
    """(1) D: push D(x) up and D(G(z)) down, with G held fixed."""
    x_real, _ = batch
    z = torch.randn(len(x_real), G.latent_dim, device=x_real.device)
    x_fake = G(z).detach()  # D's update must not flow back into G
    real_logits, fake_logits = D(x_real), D(x_fake)
    loss = d_loss(real_logits, fake_logits)
    loss_d = finite("the discriminator loss", loss)
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    d_real, d_fake = torch.stack([torch.sigmoid(real_logits).mean(),
                                  torch.sigmoid(fake_logits).mean()]).tolist()
    return {"loss_d": loss_d, "d_real": d_real, "d_fake": d_fake}


def generator_step(G: nn.Module, D: nn.Module, batch: tuple[Tensor, Tensor],
                   opt_g: torch.optim.Optimizer, g_loss: Callable) -> dict:
    """(2) G: push D(G(z)) up, with D held fixed. Also reports the norm of G's gradient."""
    x_real, _ = batch
    z = torch.randn(len(x_real), G.latent_dim, device=x_real.device)
    with frozen(D):  # D is not trained here: skip its weights' gradients
        fake_logits = D(G(z))
        loss = g_loss(fake_logits)
        loss_g = finite("the generator loss", loss)
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
    grad_norm = gradient_norm(G)
    opt_g.step()
    return {"loss_g": loss_g, "d_fake_g": torch.sigmoid(fake_logits).mean().item(),
            "grad_norm_g": grad_norm}


def critic_step(G: nn.Module, D: nn.Module, batch: tuple[Tensor, Tensor], opt_d: torch.optim.Optimizer,
                d_loss: Callable, *, penalty: str | Callable = "none", weight: float = 10.0,
                clip: float | None = None, probabilistic: bool = False) -> dict:
    """(1) D as a critic: ``d_loss`` on its scores, plus ``weight`` x a penalty ("gp", "dragan",
    "r1", or your own ``penalty(D, x_real, x_fake)``), then weights clipped to [-clip, clip] (WGAN).
    Reports the score gap, which estimates the Wasserstein distance when the critic is kept
    Lipschitz (a gradient penalty or clipping)."""
    x_real, _ = batch
    z = torch.randn(len(x_real), G.latent_dim, device=x_real.device)
    x_fake = G(z).detach()  # D's update must not flow back into G
    real_scores, fake_scores = D(x_real), D(x_fake)
    loss = d_loss(real_scores, fake_scores)
    row = {}
    if penalty != "none":
        value = (PENALTIES[penalty] if isinstance(penalty, str) else penalty)(D, x_real, x_fake)
        row["penalty"] = finite("the penalty", value)
        loss = loss + weight * value
    row["loss_d"] = finite("the discriminator loss", loss)
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    if clip is not None:
        with torch.no_grad():
            for p in D.parameters():
                p.clamp_(-clip, clip)
    if probabilistic:
        row["d_real"], row["d_fake"] = torch.stack([torch.sigmoid(real_scores).mean(),
                                                    torch.sigmoid(fake_scores).mean()]).tolist()
    else:
        real_mean, fake_mean = torch.stack([real_scores.mean(), fake_scores.mean()]).tolist()
        row.update(score_real=real_mean, score_fake=fake_mean)
        named = getattr(penalty, "name", penalty)  # a family's wrapper of a named penalty says which
        if penalty != "none" and named not in ("dragan", "r1") or clip is not None:
            row["wasserstein"] = real_mean - fake_mean
    return row


def as_batches(data, cfg: TrainConfig, device: torch.device) -> Callable[[int], tuple]:
    """Accept a step -> batch callable, an :class:`ImageData`, or an image tensor (N, C, H, W). In
    several processes, each takes its own share of every batch."""
    rank, world_size = distributed.world()
    if isinstance(data, ImageData):
        return Batches(data.images, data.labels, cfg.batch_size, cfg.seed, device, rank=rank, world_size=world_size)
    if isinstance(data, Tensor):
        if not data.is_floating_point():
            raise ValueError(f"expected float images in [-1, 1], got {data.dtype}; convert uint8 images "
                             f"with gancourse.data.to_unit_range")
        return Batches(data, None, cfg.batch_size, cfg.seed, device, rank=rank, world_size=world_size)
    if callable(data):
        return data
    raise TypeError(f"expected ImageData, a tensor of images or a step -> batch callable, "
                    f"got {type(data).__name__}")


def steps_for(cfg: TrainConfig) -> dict:
    """The D step and both losses that ``cfg.loss`` (with its penalty and clipping) trains with."""
    if cfg.loss not in LOSSES:
        raise ValueError(f"loss={cfg.loss!r} needs a discriminator of its own: train the {cfg.loss} model")
    pair = LOSSES[cfg.loss]
    penalty = pair.penalty if cfg.penalty == "auto" else cfg.penalty
    clip = cfg.clip if cfg.clip is not None else pair.clip
    if penalty == "none" and clip is None and pair.probabilistic:
        d_step = discriminator_step  # the plain step that lecture 1 prints
    else:
        weight = cfg.penalty_weight if cfg.penalty_weight is not None else 10.0
        d_step = partial(critic_step, penalty=penalty, weight=weight, clip=clip,
                         probabilistic=pair.probabilistic)
    return {"d_step": d_step, "d_loss": pair.d, "g_loss": pair.g}


def train_gan(G: nn.Module, D: nn.Module, data, cfg: TrainConfig, *,
              d_loss: Callable | None = None, g_loss: Callable | None = None,
              d_step: Callable | None = None, g_step: Callable | None = None,
              callbacks: list[Callback] = (), run_dir: str | Path | None = None,
              resume: bool = True, progress: bool = True) -> list[dict]:
    """Train G against D for ``cfg.num_steps`` generator steps (or ``cfg.minutes``), k D steps each.

    The steps and losses are the model family's own (cGAN, AC-GAN, pix2pix), else those of
    ``cfg.loss`` (with its penalty and clipping), unless given. With ``run_dir``, checkpoints
    every ``cfg.checkpoint_every`` steps and at the end (also on Ctrl-C, after the step under way),
    writes history.csv and config.json there, and resumes from its checkpoint if one exists and was
    written with the same settings. Returns the history: one dict of floats per generator step.

    With ``cfg.ema``, a moving average of G's weights follows G (:mod:`gancourse.ema`): the callbacks
    sample it, the checkpoint keeps it, and it is ``history.G_ema`` (None without ``cfg.ema``).

    Under torchrun (several processes), every process trains the same G and D on its own share of
    each batch of ``cfg.batch_size``, the gradients averaged before each update
    (:mod:`gancourse.distributed`); rank 0 writes the run.
    """
    own = family_steps(cfg)
    data = imbalanced(data, cfg)
    if own and "train" in own:  # a family trained without an adversary: D is its encoder
        if any(f is not None for f in (d_loss, g_loss, d_step, g_step)):
            raise ValueError(f"{cfg.model} is trained by reconstruction: it takes no D or G steps or losses")
        return own["train"](G, D, data, cfg, callbacks=callbacks, run_dir=run_dir, resume=resume,
                            progress=progress)
    own = own or steps_for(cfg)
    d_step, d_loss, g_loss = d_step or own["d_step"], d_loss or own["d_loss"], g_loss or own["g_loss"]
    g_step = g_step or own.get("g_step", generator_step)
    if getattr(d_step, "keywords", {}).get("penalty", "none") != "none" and _has_batchnorm(D):
        raise ValueError("a gradient penalty is per sample, and BatchNorm mixes the samples of a batch: "
                         "build D without it (e.g. model_kwargs=dict(d_norm='none'))")
    device = next(G.parameters()).device
    batches = as_batches(data, cfg, device)
    distributed.broadcast_module(G, D)  # several processes start from rank 0's weights
    torch.set_flush_denormal(True)  # CPU: subnormal floats in a quiet D can slow steps 20-fold
    if cfg.channels_last:  # weights in NHWC: every conv activation follows (inputs with C=1 agree)
        G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    opt_g = make_optimizer(G, cfg.lr_g, cfg, "the generator")
    opt_d = make_optimizer(D, cfg.lr_d, cfg, "the discriminator")
    G.train(), D.train()
    G_ema = averaged_copy(G) if cfg.ema is not None else None  # what callbacks and load() sample

    def one_step(step: int) -> dict:
        for j in range(cfg.k):  # (1) k steps of D, each on a fresh batch
            batch = batches(step * cfg.k + j)
            row = d_step(G, D, batch, opt_d, d_loss)
        row = {**row, **g_step(G, D, batch, opt_g, g_loss)}  # (2) one step of G
        if G_ema is not None:  # (3) the average follows G
            update_average(G_ema, G, cfg.ema, step)
        return row

    history = run_loop(one_step, cfg, modules={"G": G, "D": D, **({} if G_ema is None else {"G_ema": G_ema})},
                       optimizers={"opt_g": opt_g, "opt_d": opt_d},
                       schedulers={"sched_g": make_scheduler(opt_g, cfg), "sched_d": make_scheduler(opt_d, cfg)},
                       callbacks=callbacks, callback_args=(G if G_ema is None else G_ema, D), run_dir=run_dir, resume=resume,
                       progress=progress, fingerprint=data_fingerprint(data))
    history.G_ema = G_ema
    return history


def imbalanced(data, cfg: TrainConfig):
    """``data`` with ``cfg.minority`` cut to ``cfg.keep`` of its images (lecture 13), the same images
    whatever the seed; as it is when ``cfg.minority`` is None or it is already cut so."""
    if cfg.minority is None:
        return data
    if not isinstance(data, ImageData):
        raise ValueError(f"minority={cfg.minority} cuts a class of a labelled dataset: pass an ImageData, "
                         f"not {type(data).__name__}")
    from gancourse.imbalance import make_imbalanced
    return make_imbalanced(data, cfg.minority, cfg.keep, seed=0)


def data_fingerprint(data) -> dict:
    """What a resumed run must find again: the number of training images (the shipped sample has
    5,000, the full MNIST 60,000)."""
    images = data.images if isinstance(data, ImageData) else data if isinstance(data, Tensor) else None
    return {"train_images": len(images)} if images is not None else {}


def _has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def family_steps(cfg: TrainConfig) -> dict | None:
    """The steps of a family that brings its own (None for the others). A family refuses what it
    would record in config.json but not use: a ``cfg.loss`` other than its own, another family's
    option (``unroll`` outside toy-gan), a dataset of the wrong kind (images or toy points)."""
    from gancourse.models import FAMILIES  # models import their steps from here: import when called

    family = FAMILIES.get(cfg.model)
    if family is None:
        return None
    if family.losses is not None and cfg.loss not in family.losses:
        raise ValueError(f"{cfg.model} trains with its own losses ({', '.join(family.losses)}); "
                         f"loss={cfg.loss!r} would be recorded but not used")
    defaults = TrainConfig()
    for name in dict.fromkeys(n for other in FAMILIES.values() for n in other.train_args):
        if name not in family.train_args and getattr(cfg, name) != getattr(defaults, name):
            owners = [owner for owner, other in FAMILIES.items() if name in other.train_args]
            raise ValueError(f"{name}={getattr(cfg, name)!r} is an option of {', '.join(owners)}; "
                             f"{cfg.model} would record it but not use it")
    if (family.data == "points") != (cfg.dataset in TOY_DATASETS):
        wanted = (f"a toy dataset ({', '.join(TOY_DATASETS)})" if family.data == "points"
                  else f"an image dataset, not the toy {cfg.dataset!r}")
        raise ValueError(f"{cfg.model} trains on {family.data}: dataset must be {wanted}, got {cfg.dataset!r}")
    steps = family.steps(cfg) if family.steps is not None else None
    if steps and "train" in steps and cfg.ema is not None:
        raise ValueError(f"ema={cfg.ema} averages an adversarial generator; {cfg.model} is not trained "
                         f"by train_gan's steps and would record it but not use it")
    return steps
