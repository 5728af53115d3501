"""The training loop: Algorithm 1 of the GAN paper, built from two step functions.

Each step function takes ``(G, D, batch, optimizer, loss_fn)`` and returns a dict of floats, so a
student's own loss or step plugs into :func:`train_gan` unchanged.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from gancourse.checkpoint import (CheckpointError, atomic_write_text, capture_rng, load_checkpoint,
                                  lock_run_dir, restore_rng, save_checkpoint)
from gancourse.config import UNBOUNDED_STEPS, TrainConfig
from gancourse.data import Batches, ImageData
from gancourse.losses import discriminator_loss, get_g_loss

Callback = Callable[[int, nn.Module, nn.Module, list], None]


class TrainingDiverged(RuntimeError):
    """A loss or a gradient became NaN or infinite; the weights were left as they were before that
    update."""


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
    Ctrl-C, after the step under way), writes history.csv and config.json there, and resumes from
    its checkpoint if one exists and was written with the same settings. Returns the history: one
    dict of floats per generator step.
    """
    device = next(G.parameters()).device
    batches = as_batches(data, cfg, device)
    torch.set_flush_denormal(True)  # CPU: subnormal floats in a quiet D can slow steps 20-fold
    if cfg.channels_last:  # weights in NHWC: every conv activation follows (inputs with C=1 agree)
        G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    g_loss = g_loss or get_g_loss(cfg.g_loss)
    opt_g, opt_d = make_optimizer(G, cfg.lr_g, cfg), make_optimizer(D, cfg.lr_d, cfg)
    for opt, who in ((opt_d, "the discriminator"), (opt_g, "the generator")):
        opt.register_step_pre_hook(_refuse_non_finite_gradients(who))
    G.train(), D.train()
    run_dir = Path(run_dir) if run_dir is not None else None
    with lock_run_dir(run_dir), _DeferredInterrupt() as interrupt:
        history, step, elapsed = [], 0, 0.0
        if run_dir is not None and resume and (run_dir / "checkpoint.pt").exists():
            history, step, elapsed = _resume(run_dir, cfg, G, D, opt_g, opt_d, callbacks)
            print(f"resuming from step {step} in {run_dir}")
        else:
            torch.manual_seed(cfg.seed)  # the noise stream; weights were seeded by whoever built G, D
        if run_dir is not None:
            atomic_write_text(run_dir / "config.json", json.dumps(dataclasses.asdict(cfg), indent=2))

        def save() -> None:
            if run_dir is not None:
                states = {type(c).__name__: c.state_dict() for c in callbacks if hasattr(c, "state_dict")}
                save_checkpoint(run_dir / "checkpoint.pt", G=G.state_dict(), D=D.state_dict(),
                                opt_g=opt_g.state_dict(), opt_d=opt_d.state_dict(), step=step,
                                history=history, cfg=dataclasses.asdict(cfg), elapsed=elapsed,
                                rng=capture_rng(), callbacks=states)
                write_history(history, run_dir / "history.csv")

        start, deadline = time.monotonic() - elapsed, None
        if cfg.minutes is not None:  # the budget covers the whole run, resumed parts included
            deadline = start + cfg.minutes * 60
        total = None if cfg.num_steps >= UNBOUNDED_STEPS else cfg.num_steps
        bar = tqdm(total=total, initial=step, disable=not progress, desc=f"training {cfg.model}",
                   mininterval=progress_interval())
        mid_step = False  # True while a step is half done: then nothing may be saved
        try:
            while step < cfg.num_steps and not interrupt.requested:
                if deadline is not None and time.monotonic() > deadline:
                    elapsed = time.monotonic() - start  # recorded as spent: a resumed run stops at once
                    print(f"stopped at step {step}: the {cfg.minutes:g}-minute budget is spent")
                    break
                mid_step = True
                for j in range(cfg.k):
                    batch = batches(step * cfg.k + j)
                    row = d_step(G, D, batch, opt_d, d_loss)
                row = {"step": step + 1, **row, **g_step(G, D, batch, opt_g, g_loss)}
                bad = [k for k, v in row.items() if not math.isfinite(v)]
                if bad:
                    raise TrainingDiverged(f"{', '.join(bad)} became non-finite (after the update)")
                step, elapsed = step + 1, time.monotonic() - start
                history.append({**row, "time_s": round(elapsed, 3)})
                mid_step = False
                bar.update(1)
                if step % 20 == 0 or step == cfg.num_steps:
                    bar.set_postfix(_postfix(row), refresh=False)
                for callback in callbacks:
                    callback(step, G, D, history)
                if step % cfg.checkpoint_every == 0:
                    save()
            if interrupt.requested:
                raise KeyboardInterrupt
        except KeyboardInterrupt:
            if mid_step:  # a second Ctrl-C, or one that could not be deferred: the step is half done
                print(f"stopped in the middle of step {step + 1}; nothing saved from it"
                      + (f" ({_last_checkpoint(run_dir)})" if run_dir else ""))
                raise
            where = f"; checkpoint saved in {run_dir}, run again to resume" if run_dir else ""
            print(f"interrupted after step {step}{where}")
        except TrainingDiverged as err:
            where = f"; {_last_checkpoint(run_dir)}" if run_dir else ""
            raise TrainingDiverged(
                f"{err} at step {step + 1}: training diverged. Lower lr_d/lr_g, check that images are "
                f"in [-1, 1], or use the non-saturating loss{where}") from None
        finally:
            bar.close()
        save()
    return history


def _postfix(row: dict) -> dict:
    """The progress bar's readout: whichever losses and diagnostics the steps reported."""
    keys = [k for k in ("loss_d", "loss_g", "d_real", "d_fake") if k in row]
    return {k: f"{row[k]:.3f}" if k.startswith("loss") else f"{row[k]:.2f}" for k in keys}


def _refuse_non_finite_gradients(who: str) -> Callable:
    """An optimizer pre-step hook: a NaN or infinite gradient stops training before the update."""

    def hook(optimizer: torch.optim.Optimizer, args, kwargs) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if grads and not torch.isfinite(torch.stack(torch._foreach_norm(grads))).all():
            raise TrainingDiverged(f"a gradient of {who} became non-finite (the update was not applied)")

    return hook


def _last_checkpoint(run_dir: Path) -> str:
    path = run_dir / "checkpoint.pt"
    if not path.is_file():
        return f"no checkpoint was written in {run_dir} yet"
    try:
        step = load_checkpoint(path).get("step")
    except CheckpointError:
        return f"the checkpoint in {run_dir} cannot be read"
    return f"the last checkpoint, of step {step}, is in {run_dir}"


class _DeferredInterrupt:
    """Hold a Ctrl-C until the training step under way has finished, so a checkpoint never holds
    half a step; a second Ctrl-C stops at once (nothing of that step is saved)."""

    def __enter__(self) -> "_DeferredInterrupt":
        self.requested, self._previous = False, None
        if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nCtrl-C: stopping after this step and saving (press again to stop at once)",
              file=sys.stderr, flush=True)

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def progress_interval() -> float:
    """Seconds between progress-bar redraws: lively on a screen, sparse in a log file."""
    interactive = sys.stderr.isatty() or "ipykernel" in sys.modules
    return 0.1 if interactive else 10.0


# Settings that may change between the parts of one run: how long it trains, how often it saves.
BUDGET_FIELDS = ("num_steps", "minutes", "checkpoint_every", "sample_every")
RESUME_KEYS = ("G", "D", "opt_g", "opt_d", "step", "history", "cfg", "elapsed", "rng")


def check_resumable(run_dir: str | Path, cfg: TrainConfig) -> dict | None:
    """The checkpoint in ``run_dir`` if training ``cfg`` there would continue it, None if there is
    none; a CheckpointError if it belongs to a run with other settings or cannot be resumed."""
    run_dir = Path(run_dir)
    if not (run_dir / "checkpoint.pt").exists():
        return None
    state = load_checkpoint(run_dir / "checkpoint.pt")
    missing = [k for k in RESUME_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"the checkpoint in {run_dir} cannot be resumed: it lacks "
                              f"{', '.join(missing)}. Train into another directory, or delete it.")
    saved, wanted = state["cfg"], dataclasses.asdict(cfg)
    differ = [k for k in wanted if k in saved and k not in BUDGET_FIELDS and saved[k] != wanted[k]]
    if differ:
        pairs = ", ".join(f"{k}={saved[k]!r} (asked: {wanted[k]!r})" for k in differ)
        raise CheckpointError(f"{run_dir} holds a run with other settings: {pairs}. Use another run "
                              f"directory, or the run's own settings to continue it.")
    return state


def _resume(run_dir: Path, cfg: TrainConfig, G, D, opt_g, opt_d, callbacks) -> tuple[list, int, float]:
    state = check_resumable(run_dir, cfg)
    saved = state["cfg"]
    try:
        G.load_state_dict(state["G"]), D.load_state_dict(state["D"])
        opt_g.load_state_dict(state["opt_g"]), opt_d.load_state_dict(state["opt_d"])
    except (RuntimeError, ValueError, KeyError) as err:
        raise CheckpointError(
            f"the checkpoint in {run_dir} does not fit these models (it was written for "
            f"{saved.get('model')!r}; {_first_detail(err)}). Use another run directory, "
            f"or delete this one to start over.") from None
    for callback in callbacks:
        if hasattr(callback, "load_state_dict") and type(callback).__name__ in state.get("callbacks", {}):
            callback.load_state_dict(state["callbacks"][type(callback).__name__])
    restore_rng(state["rng"])
    return list(state["history"]), int(state["step"]), float(state["elapsed"])


def _first_detail(err: Exception) -> str:
    """The informative line of a load_state_dict error (its first line ends in a colon)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    detail = next((line for line in lines if not line.endswith(":")), lines[0] if lines else "")
    return detail[:200].rstrip(".")


def write_history(history: list[dict], path: str | Path) -> None:
    """Write the per-step history as CSV, one row per generator step (atomically)."""
    if not history:
        return
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    atomic_write_text(path, out.getvalue())
