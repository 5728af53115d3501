"""Command line: ``python -m gancourse train | sample ...`` (``--help`` on each command).

Bad input prints one line on stderr and exits with code 2; scripts and graders rely on that.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from gancourse.checkpoint import CheckpointError
from gancourse.conditional import TRAINING
from gancourse.config import PROFILE_NAMES, UNBOUNDED_STEPS, make_config
from gancourse.data import DATASETS, DataError, load_dataset, to_uint8
from gancourse.device import get_device, pick_profile, seed_everything
from gancourse.models import build_models
from gancourse.plot import SampleSnapshots, save_run_figures
from gancourse.runs import load, sample
from gancourse.train import TrainingDiverged, train_gan

MODEL_NAMES = ("mlp-gan", "dcgan", "cgan", "acgan")


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        raise UsageError(f"{message} (see: python -m gancourse {self.prog.split()[-1]} --help)")


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The ``gancourse`` argument parser with its sub-commands."""
    parser = _Parser(prog="gancourse", description="Train and sample the course's GANs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train a model and write its run directory",
                           description="Train MODEL; writes samples.png, losses.png, progress.gif, "
                                       "checkpoint.pt, history.csv and config.json into --out. "
                                       "Running again with the same --out resumes.")
    train.add_argument("model", metavar="MODEL", choices=MODEL_NAMES,
                       help=f"one of: {', '.join(MODEL_NAMES)}")
    train.add_argument("--dataset", required=True, choices=tuple(DATASETS),
                       help=f"one of: {', '.join(DATASETS)}")
    budget = train.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=_positive(int), help="generator steps (default: profile's)")
    budget.add_argument("--minutes", type=_positive(float), help="wall-clock budget in minutes")
    train.add_argument("--profile", choices=PROFILE_NAMES,
                       help="quick (seconds), cpu (minutes), gpu (full); default: from the device")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--data-root", help="dataset root (default: $GANCOURSE_DATA, then data/)")
    train.add_argument("--out", required=True, help="run directory to write")

    smp = sub.add_parser("sample", help="draw samples from a trained run into an .npz file",
                         description="Writes uint8 images (N, 28, 28) under key 'images' and their "
                                     "labels under 'labels' (-1 for unconditional models).")
    smp.add_argument("run_dir", metavar="DIR", help="a run directory written by train")
    smp.add_argument("--n", type=_positive(int), required=True, help="number of samples")
    smp.add_argument("--labels", type=int, nargs="+", help="class labels, repeated to fill N "
                                                            "(conditional models only; default: "
                                                            "every class in turn)")
    smp.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    smp.add_argument("--out", required=True, help="output .npz file")
    return parser


def cmd_train(args) -> None:
    device = get_device()
    profile = pick_profile(device, args.profile)
    overrides = {"dataset": args.dataset, "seed": args.seed}
    if args.steps:
        overrides.update(num_steps=args.steps, minutes=None)
    if args.minutes:
        overrides.update(num_steps=UNBOUNDED_STEPS, minutes=args.minutes)
    cfg = make_config(args.model, profile, **overrides)
    print(f"profile: {profile}\n{cfg}")
    data = load_dataset(cfg.dataset, "train", root=args.data_root)
    print(data)
    seed_everything(cfg.seed)
    G, D = build_models(cfg.model, latent_dim=cfg.latent_dim, **cfg.model_kwargs)
    G, D = G.to(device), D.to(device)
    snapshots = SampleSnapshots(cfg.latent_dim, every=cfg.sample_every,
                                num_classes=getattr(G, "num_classes", 0))
    history = train_gan(G, D, data, cfg, callbacks=[snapshots], run_dir=args.out,
                        **TRAINING.get(cfg.model, {}))
    out = Path(args.out)
    written = save_run_figures(out, G, history, snapshots)
    last = history[-1] if history else {}
    if last:
        print(f"trained {last['step']} steps in {last['time_s']:.0f} s: D(x)={last['d_real']:.2f}, "
              f"D(G(z))={last['d_fake']:.2f}")
    print(f"wrote {out}/")
    for path in [*written, out / "checkpoint.pt", out / "history.csv", out / "config.json"]:
        if path.exists():
            print(f"  {path}")


def cmd_sample(args) -> None:
    G, cfg = load(args.run_dir)
    num_classes = getattr(G, "num_classes", 0)
    labels = None
    if args.labels:
        if not num_classes:
            raise UsageError(f"--labels needs a conditional model; {args.run_dir} holds the "
                             f"unconditional {cfg.model!r}")
        bad = [l for l in args.labels if not 0 <= l < num_classes]
        if bad:
            raise UsageError(f"labels must be in 0..{num_classes - 1}, got {bad}")
        labels = torch.tensor(args.labels).repeat(args.n // len(args.labels) + 1)[:args.n]
    elif num_classes:
        labels = torch.arange(args.n) % num_classes  # every class in turn
    seed_everything(args.seed)
    images = to_uint8(sample(G, args.n, labels=labels))  # (N, 28, 28) uint8
    out_labels = labels if labels is not None else torch.full((args.n,), -1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, images=images.numpy(), labels=out_labels.numpy().astype(np.int64))
    print(f"wrote {out}: images {tuple(images.shape)} uint8, labels {tuple(out_labels.shape)}")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 training diverged, 2 bad input)."""
    try:
        args = build_parser().parse_args(argv)
        {"train": cmd_train, "sample": cmd_sample}[args.command](args)
    except (UsageError, DataError, CheckpointError) as err:
        print(f"gancourse: error: {err}", file=sys.stderr)
        return 2
    except ValueError as err:  # a bad value that got past argparse (config, shapes)
        print(f"gancourse: error: {err}", file=sys.stderr)
        return 2
    except TrainingDiverged as err:
        print(f"gancourse: training diverged: {err}", file=sys.stderr)
        return 1
    return 0
