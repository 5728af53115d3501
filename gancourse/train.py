"""The training loop: Algorithm 1 of the GAN paper, built from two step functions.

Each step function takes ``(G, D, batch, optimizer, loss_fn)`` and returns a dict of floats, so a
student's own loss or step plugs into :func:`train_gan` unchanged.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import math
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from gancourse.checkpoint import (CheckpointError, capture_rng, load_checkpoint, restore_rng,
                                  save_checkpoint)
from gancourse.config import UNBOUNDED_STEPS, TrainConfig
from gancourse.data import Batches, ImageData
from gancourse.losses import discriminator_loss, get_g_loss

Callback = Callable[[int, nn.Module, nn.Module, list], None]


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the weights were left as they were before that step."""


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


def as_batches(data, cfg: TrainConfig, device: torch.device) -> Callable[[int], tuple]:
    """Accept a step -> batch callable, an :class:`ImageData`, or an image tensor (N, C, H, W)."""
    if isinstance(data, ImageData):
        return Batches(data.images, data.labels, cfg.batch_size, cfg.seed, device)
    if isinstance(data, Tensor):
        return Batches(data, None, cfg.batch_size, cfg.seed, device)
    if callable(data):
        return data
    raise TypeError(f"expected ImageData, a tensor of images or a step -> batch callable, "
                    f"got {type(data).__name__}")


def make_optimizer(model: nn.Module, lr: float, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Adam with betas (beta1, beta2), or SGD with momentum beta1, as ``cfg.optimizer`` says."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=cfg.beta1)
    return torch.optim.Adam(model.parameters(), lr=lr, betas=(cfg.beta1, cfg.beta2))


def train_gan(G: nn.Module, D: nn.Module, data, cfg: TrainConfig, *,
              d_loss: Callable = discriminator_loss, g_loss: Callable | None = None,
              d_step: Callable = discriminator_step, g_step: Callable = generator_step,
              callbacks: list[Callback] = (), run_dir: str | Path | None = None,
              resume: bool = True, progress: bool = True) -> list[dict]:
    """Train G against D for ``cfg.num_steps`` generator steps (or ``cfg.minutes``), k D steps each.

    With ``run_dir``, checkpoints every ``cfg.checkpoint_every`` steps and at the end (also on
    Ctrl-C), writes history.csv and config.json there, and resumes from its checkpoint if one
    exists. Returns the history: one dict of floats per generator step.
    """
    device = next(G.parameters()).device
    batches = as_batches(data, cfg, device)
    torch.set_flush_denormal(True)  # CPU: subnormal floats in a quiet D can slow steps 20-fold
    if cfg.channels_last:  # weights in NHWC: every conv activation follows (inputs with C=1 agree)
        G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    g_loss = g_loss or get_g_loss(cfg.g_loss)
    opt_g, opt_d = make_optimizer(G, cfg.lr_g, cfg), make_optimizer(D, cfg.lr_d, cfg)
    G.train(), D.train()
    run_dir = Path(run_dir) if run_dir is not None else None
    history, step, elapsed = [], 0, 0.0
    if run_dir is not None and resume and (run_dir / "checkpoint.pt").exists():
        history, step, elapsed = _resume(run_dir, G, D, opt_g, opt_d)
        print(f"resuming from step {step} in {run_dir}")
    else:
        torch.manual_seed(cfg.seed)  # the noise stream; weights were seeded by whoever built G, D
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2))

    def save() -> None:
        if run_dir is not None:
            save_checkpoint(run_dir / "checkpoint.pt", G=G.state_dict(), D=D.state_dict(),
                            opt_g=opt_g.state_dict(), opt_d=opt_d.state_dict(), step=step,
                            history=history, cfg=dataclasses.asdict(cfg), elapsed=elapsed,
                            rng=capture_rng())
            write_history(history, run_dir / "history.csv")

    start, deadline = time.monotonic() - elapsed, None
    if cfg.minutes is not None:  # the budget covers the whole run, resumed parts included
        deadline = start + cfg.minutes * 60
    total = None if cfg.num_steps >= UNBOUNDED_STEPS else cfg.num_steps
    bar = tqdm(total=total, initial=step, disable=not progress, desc=f"training {cfg.model}",
               mininterval=progress_interval())
    try:
        while step < cfg.num_steps:
            if deadline is not None and time.monotonic() > deadline:
                elapsed = time.monotonic() - start  # recorded as spent: a resumed run stops at once
                print(f"stopped at step {step}: the {cfg.minutes:g}-minute budget is spent")
                break
            for j in range(cfg.k):
                batch = batches(step * cfg.k + j)
                row = d_step(G, D, batch, opt_d, d_loss)
            row = {"step": step + 1, **row, **g_step(G, D, batch, opt_g, g_loss)}
            bad = [k for k, v in row.items() if not math.isfinite(v)]
            if bad:
                raise TrainingDiverged(f"{', '.join(bad)} became non-finite")
            step, elapsed = step + 1, time.monotonic() - start
            history.append({**row, "time_s": round(elapsed, 3)})
            bar.update(1)
            if step % 20 == 0 or step == cfg.num_steps:
                bar.set_postfix(loss_d=f"{row['loss_d']:.3f}", loss_g=f"{row['loss_g']:.3f}",
                                d_real=f"{row['d_real']:.2f}", d_fake=f"{row['d_fake']:.2f}",
                                refresh=False)
            if step % cfg.checkpoint_every == 0:
                save()
            for callback in callbacks:
                callback(step, G, D, history)
    except KeyboardInterrupt:
        where = f"; checkpoint saved in {run_dir}, run again to resume" if run_dir else ""
        print(f"interrupted at step {step}{where}")
    except TrainingDiverged as err:
        where = f"; the last good checkpoint is in {run_dir}" if run_dir else ""
        raise TrainingDiverged(
            f"{err} at step {step + 1}: training diverged. Lower lr_d/lr_g, check that images are "
            f"in [-1, 1], or use the non-saturating loss{where}") from None
    finally:
        bar.close()
    save()
    return history


def progress_interval() -> float:
    """Seconds between progress-bar redraws: lively on a screen, sparse in a log file."""
    interactive = sys.stderr.isatty() or "ipykernel" in sys.modules
    return 0.1 if interactive else 10.0


def _resume(run_dir: Path, G, D, opt_g, opt_d) -> tuple[list, int, float]:
    state = load_checkpoint(run_dir / "checkpoint.pt")
    try:
        G.load_state_dict(state["G"]), D.load_state_dict(state["D"])
        opt_g.load_state_dict(state["opt_g"]), opt_d.load_state_dict(state["opt_d"])
    except (RuntimeError, ValueError, KeyError) as err:
        raise CheckpointError(
            f"the checkpoint in {run_dir} does not fit these models (it was written for "
            f"{state['cfg'].get('model')!r}: {str(err).splitlines()[0]}). Use another run "
            f"directory, or pass resume=False to start over.") from None
    restore_rng(state["rng"])
    return list(state["history"]), int(state["step"]), float(state["elapsed"])


def write_history(history: list[dict], path: str | Path) -> None:
    """Write the per-step history as CSV, one row per generator step."""
    if not history:
        return
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
