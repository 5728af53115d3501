"""The command line's toy-gan half: training on 2-D points, drawing them, and their mode coverage.

:mod:`gancourse.cli` parses the arguments and hands a run whose family trains on ``points`` here.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from gancourse.checkpoint import atomic_write_text
from gancourse.cli_files import (GENERATOR_HINT, MAX_SAMPLES, POINTS_NOT_FINITE, UsageError, read_points,
                                 refuse_non_finite)
from gancourse.device import seed_everything
from gancourse.models import FAMILIES, build_models
from gancourse.run import postfix
from gancourse.runs import load, sample
from gancourse.toy import toy_points
from gancourse.train import train_gan
from gancourse.ema import trained_generator

TOY_EVALUATE_N = 2500  # samples the VEEGAN / PacGAN protocol scores


def train_points(cfg, device, out: Path) -> None:
    """Train ``cfg``'s toy-gan on a fixed set of its dataset's points; write samples.png (a scatter
    over the modes), losses.png and the run's files into ``out``, and print the mode coverage."""
    from gancourse.metrics import mode_coverage
    from gancourse.plot import plot_history, save_figures, show_points

    data = toy_points(cfg.dataset, seed=cfg.seed)  # (100000, 2), rebuilt alike on resume
    print(f"{cfg.dataset}: {len(data):,} training points")
    seed_everything(cfg.seed)
    G, D = build_models(cfg.model, latent_dim=cfg.latent_dim, **cfg.model_kwargs)
    G, D = G.to(device), D.to(device)
    history = train_gan(G, D, data, cfg, run_dir=out)
    G = trained_generator(G, history)
    step = history[-1]["step"] if history else 0
    points = draw_points(G, TOY_EVALUATE_N, seed=0, source=f"the generator in {out}")
    save_figures(out, {"samples.png": show_points(points, cfg.dataset,
                                                  title=f"{cfg.dataset}: samples after {step} steps"),
                       "losses.png": plot_history(history) if history else None})
    if history:
        print(f"trained {step} steps in {history[-1]['time_s']:.0f} s: "
              + ", ".join(f"{k}={v}" for k, v in postfix(history[-1]).items()))
    print(f"{coverage_line(mode_coverage(points, cfg.dataset))} ({TOY_EVALUATE_N:,} samples)")
    print(f"wrote {out}/")
    if history.interrupted:
        raise KeyboardInterrupt  # saved, and reported as stopped: exit code 130


def coverage_line(result) -> str:
    """One line of a :class:`gancourse.metrics.ModeCoverage`."""
    return (f"modes {result.modes}/{result.total_modes}, high quality {result.high_quality:.1%}, "
            f"KL {result.kl:.3f}")


def draw_points(G, n: int, seed: int, source: str) -> torch.Tensor:
    """n points (N, 2) from a toy generator; refuses NaN outputs."""
    seed_everything(seed)
    points = sample(G, z=torch.randn(n, G.latent_dim))
    refuse_non_finite(points, source, GENERATOR_HINT, POINTS_NOT_FINITE)
    return points


def evaluate_points(args, json_out: Path | None) -> None:
    """``evaluate`` against a toy dataset: the mode coverage of a toy-gan run's samples (2,500 by
    default) or of an .npz file's 'points'."""
    from gancourse.metrics import mode_coverage

    target, n = args.target, args.n or TOY_EVALUATE_N
    if target.is_dir():
        if n > MAX_SAMPLES:
            raise UsageError(f"--n {n:,} is more than {MAX_SAMPLES:,} points at once")
        G, cfg = load(target)
        if FAMILIES[cfg.model].data != "points" or cfg.dataset != args.dataset:
            raise UsageError(f"{target} holds {cfg.model} trained on {cfg.dataset}: evaluate it with "
                             f"--dataset {cfg.dataset}")
        points = draw_points(G, n, args.seed, f"the generator in {target}")
        what = f"{n} samples of {cfg.model} from {target}"
    elif target.is_file():
        points = read_points(target)
        what = f"{len(points)} points from {target}"
    else:
        raise UsageError(f"{target} is neither a run directory nor an .npz file")
    print(f"evaluating {what} against {args.dataset}")
    result = mode_coverage(points, args.dataset)
    print(f"\n{'metric':<34} value")
    for name, value in (("modes captured", f"{result.modes} of {result.total_modes}"),
                        ("high-quality samples (3 std)", f"{result.high_quality:.1%}"),
                        ("KL(captured modes || uniform)", f"{result.kl:.4f}")):
        print(f"{name:<34} {value}")
    if json_out:
        values = {"modes": result.modes, "total_modes": result.total_modes,
                  "high_quality": result.high_quality, "kl": result.kl if math.isfinite(result.kl) else None,
                  "counts": list(result.counts), "n_samples": len(points)}
        atomic_write_text(json_out, json.dumps(values, indent=2))
        print(f"wrote {json_out}")
