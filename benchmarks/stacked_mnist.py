"""Mode collapse on stacked MNIST: the DCGAN against PacDCGAN, over seeds.

Each variant is the stacked-mnist recipe of a profile (default: cpu; a 3-channel DCGAN whose D is a
quarter of G's width, bounded by steps here, not minutes) with one change: PacGAN's packing of 2 or
4 images. Each run is scored on 26,000 samples from fixed noise, as VEEGAN and PacGAN do: the MNIST
classifier reads each channel's digit; modes covered (of 1,000) and KL(mode histogram || uniform).
Prints the real test images' own count first, then one row per variant: mean ± std over the seeds,
and CPU seconds per run.

Usage: python benchmarks/stacked_mnist.py [--variants plain pack2 pack4] [--seeds 0 1 2]
       [--steps N] [--profile cpu]
Run it with one thread (OMP_NUM_THREADS=1): the seconds are then the CPU time of one core.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from gancourse.classifier import load_classifier
from gancourse.data import load_dataset
from gancourse.stacked import N_SAMPLES, count_modes, score_stacked, stack_digits, train_stacked

VARIANTS: dict[str, dict] = {"plain": {}, "pack2": dict(pack=2), "pack4": dict(pack=4)}


def summary(values: list[float], digits: int) -> str:
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {spread:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, help="generator steps (default: the profile's)")
    parser.add_argument("--profile", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(1)
    clf = load_classifier("mnist", "cpu", progress=False)
    test = load_dataset("mnist", "test")
    real = count_modes(clf, stack_digits(test.images, test.labels, N_SAMPLES, seed=0)[0])
    overrides = dict(minutes=None, **({"num_steps": args.steps} if args.steps else {}))
    print(f"stacked MNIST, {args.profile} profile, {args.steps or 'profile'} steps, seeds {args.seeds}, "
          f"{N_SAMPLES:,} samples per run, {'the shipped sample' if test.source.startswith('shipped') else 'full MNIST'}")
    print(f"real test digits, stacked: {real}")
    print(f"{'variant':<8} {'modes of 1000':>16} {'KL':>13} {'CPU s / run':>12}   modes/KL per seed")
    for variant in args.variants:
        rows = []
        for seed in args.seeds:
            start = time.process_time()  # CPU time: one core's cost even on a busy machine
            G, _, _ = train_stacked(args.profile, seed, progress=False, **overrides, **VARIANTS[variant])
            seconds = time.process_time() - start
            found = score_stacked(G, clf, seed)
            rows.append({"modes": found.modes, "kl": found.kl, "seconds": seconds})
            print(f"  {variant} seed {seed}: {rows[-1]}", file=sys.stderr, flush=True)
        per_seed = ", ".join(f"{r['modes']}/{r['kl']:.2f}" for r in rows)
        print(f"{variant:<8} {summary([r['modes'] for r in rows], 1):>16} {summary([r['kl'] for r in rows], 2):>13} "
              f"{summary([r['seconds'] for r in rows], 1):>12}   {per_seed}", flush=True)


if __name__ == "__main__":
    main()
