"""A run being written: budget, checkpoint and exact resume, history, progress bar, Ctrl-C.

:func:`run_loop` repeats a step function until the run's budget is spent; it knows nothing about
GANs. :func:`gancourse.train.train_gan` hands it Algorithm 1; any single-model loop (a classifier, an
autoencoder) can hand it its own step. Optimizers and learning-rate schedules come from one table.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import signal
import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import nn

from gancourse.checkpoint import (CheckpointError, atomic_write_text, capture_rng, load_checkpoint,
                                  lock_run_dir, restore_rng, save_checkpoint)
from gancourse.config import UNBOUNDED_STEPS, TrainConfig, config_from_dict
from gancourse import distributed


class TrainingDiverged(RuntimeError):
    """A loss or a gradient became NaN or infinite; the weights were left as they were before that
    update."""


# --- optimizers and schedules: one table --------------------------------------------------------
OPTIMIZERS: dict[str, Callable] = {
    "adam": lambda params, lr, cfg: torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2)),
    "sgd": lambda params, lr, cfg: torch.optim.SGD(params, lr=lr, momentum=cfg.beta1),
    "rmsprop": lambda params, lr, cfg: torch.optim.RMSprop(params, lr=lr),  # WGAN's choice
}
SCHEDULES = ("constant", "linear-decay")  # linear-decay: constant for half the steps, then to 0


def make_optimizer(model: nn.Module, lr: float, cfg: TrainConfig, who: str = "the model"
                   ) -> torch.optim.Optimizer:
    """``cfg.optimizer`` from :data:`OPTIMIZERS` over ``model``'s parameters; a NaN or infinite
    gradient raises :class:`TrainingDiverged` before it reaches the weights. In several processes
    (torchrun) each step first averages the gradients over them (:mod:`gancourse.distributed`)."""
    optimizer = OPTIMIZERS[cfg.optimizer](model.parameters(), lr, cfg)
    if distributed.world()[1] > 1:
        optimizer.register_step_pre_hook(distributed.gradient_averaging_hook)
    optimizer.register_step_pre_hook(_refuse_non_finite_gradients(who))
    return optimizer


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig):
    """The learning-rate schedule ``cfg.lr_schedule``, stepped once per training step."""
    if cfg.lr_schedule == "constant" or cfg.num_steps >= UNBOUNDED_STEPS:
        return None
    half = cfg.num_steps // 2
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 1.0 if step < half else max(0.0, (cfg.num_steps - step) / (cfg.num_steps - half)))


def _refuse_non_finite_gradients(who: str) -> Callable:
    def hook(optimizer: torch.optim.Optimizer, args, kwargs) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if grads and not torch.isfinite(torch.stack(torch._foreach_norm(grads))).all():
            raise TrainingDiverged(f"a gradient of {who} became non-finite (the update was not applied)")
    return hook


# --- the loop -------------------------------------------------------------------------------------
class History(list):
    """The per-step rows of a run; ``interrupted`` says whether Ctrl-C (or SIGTERM) ended it."""

    interrupted = False
    G_ema = None  # train_gan's moving average of G's weights, when cfg.ema asks for one


def run_loop(step_fn: Callable[[int], dict], cfg: TrainConfig, *, modules: dict[str, nn.Module],
             optimizers: dict[str, torch.optim.Optimizer], schedulers: dict | None = None,
             callbacks: Iterable[Callable] = (), callback_args: tuple = (),
             run_dir: str | Path | None = None, resume: bool = True, progress: bool = True,
             fingerprint: dict | None = None) -> History:
    """Call ``step_fn(step)`` (0-based; it returns a dict of floats) until ``cfg.num_steps`` or
    ``cfg.minutes`` is spent, and keep the books.

    Each step's dict becomes a history row; ``callback(step, *callback_args, history)`` runs after
    each step. With ``run_dir``: config.json, history.csv and checkpoint.pt (every
    ``cfg.checkpoint_every`` steps and at the end) there, resuming exactly from its checkpoint when
    one exists and was written with the same settings (and the same ``fingerprint`` of the data,
    e.g. its number of images). Ctrl-C or SIGTERM ends the step under way, saves and returns the
    history marked ``interrupted``; a second Ctrl-C stops at once. Returns the history.

    In several processes (torchrun), rank 0 alone writes the run directory, runs the callbacks and
    shows progress; its clock decides when the minutes are spent, and a stop asked of any process
    stops them all after the same step. Each process's random state is saved, so a resumed run with
    the same number of processes continues exactly.
    """
    schedulers = {k: v for k, v in (schedulers or {}).items() if v is not None}
    stateful = {**modules, **optimizers, **schedulers}
    rank, world_size = distributed.world()
    main = rank == 0
    callbacks = list(callbacks) if main else []
    progress = progress and main
    run_dir = Path(run_dir) if run_dir is not None else None
    with lock_run_dir(run_dir if main else None), _DeferredInterrupt() as interrupt:
        history, step, elapsed = History(), 0, 0.0
        fingerprint = fingerprint or {}
        if run_dir is not None and resume and (run_dir / "checkpoint.pt").exists():
            state = check_resumable(run_dir, cfg, required=tuple(stateful), fingerprint=fingerprint)
            _load_states(run_dir, state, stateful)
            for callback in callbacks:
                if hasattr(callback, "load_state_dict") and type(callback).__name__ in state.get("callbacks", {}):
                    callback.load_state_dict(state["callbacks"][type(callback).__name__])
            ranks = state.get("rng_ranks") or [state["rng"]]
            if len(ranks) == world_size:
                restore_rng(ranks[rank])
            else:  # another number of processes: the weights continue, the noise cannot
                torch.manual_seed(cfg.seed + 7919 * rank + int(state["step"]))
                print(f"resuming with {world_size} processes a run saved with {len(ranks)}: the weights continue, "
                      f"the random draws differ from an uninterrupted run")
            history, step, elapsed = History(state["history"]), int(state["step"]), float(state["elapsed"])
            print(f"resuming from step {step} in {run_dir}")
        else:
            torch.manual_seed(cfg.seed + 7919 * rank)  # the noise stream, each process its own; weights were
            # seeded by whoever built them
        if run_dir is not None and main:
            atomic_write_text(run_dir / "config.json", json.dumps(dataclasses.asdict(cfg), indent=2))

        def save() -> None:
            if run_dir is None:
                return
            rng_ranks = distributed.gather(capture_rng())  # every process takes part; rank 0 writes
            if not main:
                return
            bad = [name for name, module in modules.items()
                   if not all(torch.isfinite(t).all() for t in module.state_dict().values() if t.is_floating_point())]
            if bad:  # never replace a good checkpoint with NaN weights
                raise TrainingDiverged(f"the weights of {', '.join(bad)} became non-finite")
            interrupt.saving = True  # a Ctrl-C now would cut the file short: it waits
            try:
                states = {type(c).__name__: c.state_dict() for c in callbacks if hasattr(c, "state_dict")}
                save_checkpoint(run_dir / "checkpoint.pt", **{k: v.state_dict() for k, v in stateful.items()},
                                step=step, history=list(history), cfg=dataclasses.asdict(cfg), elapsed=elapsed,
                                rng=rng_ranks[0], rng_ranks=rng_ranks, callbacks=states, fingerprint=fingerprint)
                write_history(history, run_dir / "history.csv")
            finally:
                interrupt.saving = False

        start, deadline = time.monotonic() - elapsed, None
        if cfg.minutes is not None:  # the budget covers the whole run, resumed parts included
            deadline = start + cfg.minutes * 60
        total = None if cfg.num_steps >= UNBOUNDED_STEPS else cfg.num_steps
        bar = progress_bar(total=total, initial=step, disable=not progress, desc=f"training {cfg.model}")
        mid_step = False  # True while a step is half done: then nothing may be saved
        try:
            while step < cfg.num_steps:
                spent = deadline is not None and time.monotonic() > deadline
                if world_size > 1:  # rank 0's clock decides for all; any process's Ctrl-C stops all
                    spent, interrupt.requested = distributed.agree(spent, interrupt.requested)
                if interrupt.requested:
                    break
                if spent:
                    elapsed = time.monotonic() - start  # recorded as spent: a resumed run stops at once
                    print(f"stopped at step {step}: the {cfg.minutes:g}-minute budget is spent")
                    break
                mid_step = True
                row = {"step": step + 1, **step_fn(step)}
                bad = [k for k, v in row.items() if not math.isfinite(v)]
                if bad:
                    raise TrainingDiverged(f"{', '.join(bad)} became non-finite (after the update)")
                for scheduler in schedulers.values():
                    scheduler.step()
                step, elapsed = step + 1, time.monotonic() - start
                history.append({**row, "time_s": round(elapsed, 3)})
                mid_step = False
                bar.update(1)
                if step % 20 == 0 or step == cfg.num_steps:
                    bar.set_postfix(postfix(row), refresh=False)
                for callback in callbacks:
                    callback(step, *callback_args, history)
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
            history.interrupted = True
        except TrainingDiverged as err:
            where = f"; {_last_checkpoint(run_dir)}" if run_dir else ""
            advice = ", or use the non-saturating loss" if cfg.loss == "minimax" else ""
            raise TrainingDiverged(f"{err} at step {step + 1}. Lower lr_d/lr_g or check that images are "
                                   f"in [-1, 1]{advice}{where}") from None
        finally:
            bar.close()
        save()
    return history


# Diagnostics a step may report, in the order the progress bar shows them.
DIAGNOSTICS = ("loss_d", "loss_g", "d_real", "d_fake", "wasserstein", "penalty", "k", "convergence", "l1",
               "cycle", "identity",
               "loss", "recon", "kl", "mse")


def postfix(row: dict) -> dict:
    """The progress bar's readout: whichever losses and diagnostics the step reported."""
    return {k: f"{row[k]:.3f}" for k in DIAGNOSTICS if k in row}


def progress_bar(iterable=None, **kwargs):
    """A tqdm progress bar: a widget in a live notebook, plain text in headless runs
    (GANCOURSE_NO_WIDGETS=1), where a stored widget would read 0% for ever."""
    if os.environ.get("GANCOURSE_NO_WIDGETS") == "1":
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm
    kwargs.setdefault("mininterval", progress_interval())
    return tqdm(iterable, **kwargs)


def progress_interval() -> float:
    """Seconds between progress-bar redraws: lively on a screen, sparse in a log file."""
    headless = os.environ.get("GANCOURSE_NO_WIDGETS") == "1"
    interactive = sys.stderr.isatty() or ("ipykernel" in sys.modules and not headless)
    return 0.1 if interactive else 10.0


class _DeferredInterrupt:
    """Hold a Ctrl-C until the training step under way has finished, so a checkpoint never holds
    half a step; a second Ctrl-C stops at once (nothing of that step is saved), except while a
    checkpoint is being written, which always finishes."""

    def __enter__(self) -> "_DeferredInterrupt":
        self.requested, self.saving, self._previous = False, False, {}
        if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
            for sig in (signal.SIGINT, signal.SIGTERM):  # SIGTERM: job schedulers, `timeout`, `kill`
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        what = "Ctrl-C" if signum == signal.SIGINT else "stop signal"
        if self.saving:  # never cut a checkpoint short
            print(f"\n{what}: stopping after this step, once the checkpoint being written is saved",
                  file=sys.stderr, flush=True)
            self.requested = True
            return
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(f"\n{what}: stopping after this step and saving (Ctrl-C again stops at once)",
              file=sys.stderr, flush=True)

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


# --- checkpoints ---------------------------------------------------------------------------------
# Settings that may change between the parts of one run: how long it trains, how often it saves.
BUDGET_FIELDS = ("num_steps", "minutes", "checkpoint_every", "sample_every")
RESUME_KEYS = ("step", "history", "cfg", "elapsed", "rng")


def check_resumable(run_dir: str | Path, cfg: TrainConfig, required: tuple = ("G", "D", "opt_g", "opt_d"),
                    fingerprint: dict | None = None) -> dict | None:
    """The checkpoint in ``run_dir`` if training ``cfg`` there would continue it, None if there is
    none; a CheckpointError if it belongs to a run with other settings or cannot be resumed."""
    run_dir = Path(run_dir)
    if not (run_dir / "checkpoint.pt").exists():
        return None
    state = load_checkpoint(run_dir / "checkpoint.pt")
    missing = [k for k in (*required, *RESUME_KEYS) if k not in state]
    if missing:
        raise CheckpointError(f"the checkpoint in {run_dir} cannot be resumed: it lacks "
                              f"{', '.join(missing)}. Train into another directory, or delete it.")
    saved, wanted = dataclasses.asdict(config_from_dict(state["cfg"])), dataclasses.asdict(cfg)
    differ = [k for k in wanted if k in saved and k not in BUDGET_FIELDS and saved[k] != wanted[k]]
    if differ:
        pairs = ", ".join(f"{k}={saved[k]!r} (asked: {wanted[k]!r})" for k in differ)
        raise CheckpointError(f"{run_dir} holds a run with other settings: {pairs}. Use another run "
                              f"directory, or the run's own settings to continue it.")
    saved_print = state.get("fingerprint") or {}
    changed = [k for k, v in (fingerprint or {}).items() if k in saved_print and saved_print[k] != v]
    if changed:
        pairs = ", ".join(f"{k}={saved_print[k]!r} (now: {fingerprint[k]!r})" for k in changed)
        raise CheckpointError(f"{run_dir} holds a run trained on other data: {pairs}. The full dataset and "
                              f"the shipped sample differ: continue it with the data it started on, use another "
                              f"run directory, or start it over (resume=False; in a notebook, its resume "
                              f"parameter).")
    return state


def _load_states(run_dir: Path, state: dict, stateful: dict) -> None:
    try:
        for name, obj in stateful.items():
            obj.load_state_dict(state[name])
    except (RuntimeError, ValueError, KeyError) as err:
        raise CheckpointError(
            f"the checkpoint in {run_dir} does not fit these models (it was written for "
            f"{state['cfg'].get('model')!r}; {_first_detail(err)}). Use another run directory, "
            f"or delete this one to start over.") from None


def _first_detail(err: Exception) -> str:
    """The informative line of a load_state_dict error (its first line ends in a colon)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    detail = next((line for line in lines if not line.endswith(":")), lines[0] if lines else "")
    return detail[:200].rstrip(".")


def _last_checkpoint(run_dir: Path) -> str:
    path = run_dir / "checkpoint.pt"
    if not path.is_file():
        return f"no checkpoint was written in {run_dir} yet"
    try:
        step = load_checkpoint(path).get("step")
    except CheckpointError:
        return f"the checkpoint in {run_dir} cannot be read"
    return f"the last checkpoint, of step {step}, is in {run_dir}"


def write_history(history: list[dict], path: str | Path) -> None:
    """Write the per-step history as CSV, one row per step (atomically); a column for every key."""
    if not history:
        return
    fields = list(dict.fromkeys(key for row in history for key in row))
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    writer.writerows(history)
    atomic_write_text(path, out.getvalue())
