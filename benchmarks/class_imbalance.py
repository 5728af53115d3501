"""Class imbalance (lecture 13): every remedy at every keep fraction, over seeds, in one run.

For each keep fraction, one class of the training split keeps that fraction of its images; the cGAN,
AC-GAN and BAGAN are trained on what is left (gancourse.imbalance.GAN_STEPS steps, seed 0); then for
each seed a fresh classifier per remedy trains for the same steps and is scored on the balanced test
split. Prints and writes (CSV) one row per keep fraction, remedy and seed, then the table of means and
standard deviations, and the generated minority images' classifier FID and spread against the test
split's real ones (SMOTE's new images and real training images beside them as yardsticks).

Usage: python benchmarks/class_imbalance.py [--dataset fashion-mnist] [--minority 6]
       [--keeps 0.01 0.025 0.05] [--seeds 0 1 2] [--profile cpu] [--out benchmarks/results/...]
About 7 minutes per keep fraction on 2 CPU cores with the cpu profile; --profile quick is a smoke run.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import torch

from gancourse.classifier import load_classifier
from gancourse.data import load_dataset
from gancourse.config import make_config
from gancourse.imbalance import (GAN_NAMES, compare_remedies, format_table, generate, make_imbalanced,
                                 sample_quality, smote_only, summarize, train_generators)

N_QUALITY = 1000  # generated minority images scored per generator


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--minority", type=int, default=6, help="the class cut (Fashion-MNIST 6: shirt)")
    parser.add_argument("--keeps", type=float, nargs="+", default=[0.01, 0.025, 0.05])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--profile", default="cpu", choices=["quick", "cpu", "gpu", "colab"])
    parser.add_argument("--out", default=None, help="CSV of every row (default benchmarks/results/"
                                                   "class_imbalance_<dataset>_<profile>.csv)")
    args = parser.parse_args(argv)
    out = Path(args.out or Path(__file__).parent / "results" / f"class_imbalance_{args.dataset}_{args.profile}.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    train, test = load_dataset(args.dataset, "train"), load_dataset(args.dataset, "test")
    judge = load_classifier(args.dataset, "cpu" if args.profile == "quick" else args.profile)
    real_test = test.images[test.labels == args.minority]
    steps = make_config("imbalance", args.profile).num_steps
    print(f"{args.dataset}, class {args.minority} ({train.classes[args.minority]}), seeds {args.seeds}, "
          f"classifier steps {steps}, {torch.get_num_threads()} threads")
    rows, quality = [], []
    reference = train.images[train.labels == args.minority][:N_QUALITY]
    quality.append({"keep": None, "images": "real training images", **sample_quality(judge, reference, real_test, args.minority)})
    for keep in args.keeps:
        data = make_imbalanced(train, args.minority, keep)
        print(f"\nkeep {keep:.1%}: {data}")
        generators = train_generators(data, args.minority, keep, args.profile, progress=False)
        for model, (G, history, seconds) in generators.items():
            print(f"  {GAN_NAMES[model]}: {len(history)} steps in {seconds:.0f} s")
            fakes = generate(G, args.minority, N_QUALITY)
            quality.append({"keep": keep, "images": GAN_NAMES[model], "seconds": seconds,
                            **sample_quality(judge, fakes, real_test, args.minority)})
        smote = smote_only(data.images, data.labels, args.minority)[:N_QUALITY]
        quality.append({"keep": keep, "images": "SMOTE", **sample_quality(judge, smote, real_test, args.minority)})
        found = compare_remedies(data, test, args.minority, seeds=args.seeds, steps=steps, progress=False,
                                 generators={GAN_NAMES[m]: G for m, (G, _, _) in generators.items()})
        rows += [{"keep": keep, **row} for row in found]
        with out.open("w", newline="") as f:  # after every keep fraction: a stopped run keeps its rows
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    print("\n" + format_table(summarize(rows)))
    print(f"\nminority images against the test split's real ones (judge: the {args.dataset} classifier)")
    print(f"{'keep':<7}{'images':<22}{'FID':>7}{'spread':>8}{'judged minority':>17}")
    for q in quality:
        keep = "" if q["keep"] is None else f"{q['keep']:.1%}"
        print(f"{keep:<7}{q['images']:<22}{q['fid']:>7.1f}{q['spread']:>8.2f}{q['judged']:>17.1%}")
    print(f"\nwrote {out}; {time.perf_counter() - start:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
