"""Mode collapse on the 2-D benchmarks: the plain GAN against its cures, over seeds.

Each variant is the toy-gan recipe of a profile (default: cpu) with one change: PacGAN's packing,
ProGAN's minibatch standard deviation, unrolling D, or the WGAN-GP loss with its usual recipe. Each
run is scored on 2,500 samples by the VEEGAN / PacGAN protocol (gancourse.metrics.mode_coverage):
modes captured, share of high-quality samples, and KL(captured-mode histogram || uniform).
Prints one row per dataset and variant: mean ± std over the seeds, and CPU seconds per run.

Usage: python benchmarks/mode_collapse.py [--datasets grid25 ring8] [--variants plain pack2 ...]
       [--seeds 0 1 2] [--steps N] [--profile cpu] [--set lr_d=1e-4 --set hidden=256 ...]
(--set changes the base recipe of every variant: a TrainConfig field or a network argument.)
Run it with one thread (OMP_NUM_THREADS=1): the seconds are then the CPU time of one core.
"""
from __future__ import annotations

import argparse
import ast
import math
import statistics
import sys
import time

import torch

from gancourse.modes import N_SAMPLES, score, train_toy_gan
from gancourse.toy import TOY_DATASETS

VARIANTS: dict[str, dict] = {
    "plain": {},
    "pack2": dict(pack=2),
    "pack4": dict(pack=4),
    "minibatch-std": dict(minibatch_std=True),
    "unroll5": dict(unroll=5),
    "wgan-gp": dict(loss="wgan-gp"),
}


def run(dataset: str, variant: str, seed: int, profile: str, steps: int | None, base: dict) -> dict:
    """Train one toy-gan run in memory and score it; returns the coverage and the seconds it took."""
    overrides = dict(base, **VARIANTS[variant], minutes=None)
    if steps is not None:
        overrides["num_steps"] = steps
    start = time.process_time()  # CPU time: with one thread, a run's cost on one core even when
    G, _, _ = train_toy_gan(dataset, profile, seed, progress=False, **overrides)  # the machine is busy
    seconds = time.process_time() - start
    result = score(G, dataset, seed)
    return {"modes": result.modes, "hq": 100 * result.high_quality, "kl": result.kl, "seconds": seconds}


def summary(values: list[float], digits: int) -> str:
    """Mean ± standard deviation over the runs; infinite values (KL with no high-quality sample)
    are left out and counted."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "inf"
    mean = statistics.fmean(finite)
    spread = statistics.stdev(finite) if len(finite) > 1 else 0.0
    text = f"{mean:.{digits}f} ± {spread:.{digits}f}"
    return text + (f" ({len(values) - len(finite)} inf)" if len(finite) < len(values) else "")


def parse_set(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value  # a plain word such as relu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=list(TOY_DATASETS), choices=list(TOY_DATASETS))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, help="generator steps (default: the profile's)")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--set", action="append", default=[], type=parse_set, metavar="KEY=VALUE")
    args = parser.parse_args()
    torch.set_num_threads(1)
    base = dict(args.set)
    print(f"toy-gan, {args.profile} profile{', ' + str(base) if base else ''}, "
          f"{args.steps or 'profile'} steps, seeds {args.seeds}, {N_SAMPLES} samples per run")
    print(f"{'dataset':<8} {'variant':<14} {'modes':>11} {'high quality %':>15} {'KL':>19} {'CPU s / run':>12}"
          f"   modes, HQ % per seed")
    for dataset in args.datasets:
        for variant in args.variants:
            rows = []
            for seed in args.seeds:
                rows.append(run(dataset, variant, seed, args.profile, args.steps, base))
                print(f"  {dataset} {variant} seed {seed}: {rows[-1]}", file=sys.stderr, flush=True)
            per_seed = ", ".join(f"{r['modes']}/{r['hq']:.0f}" for r in rows)
            print(f"{dataset:<8} {variant:<14} {summary([r['modes'] for r in rows], 1):>11} "
                  f"{summary([r['hq'] for r in rows], 1):>15} {summary([r['kl'] for r in rows], 2):>19} "
                  f"{summary([r['seconds'] for r in rows], 1):>12}   {per_seed}", flush=True)


if __name__ == "__main__":
    main()
