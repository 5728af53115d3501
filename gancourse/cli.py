"""Command line: ``python -m gancourse train | sample | evaluate | translate ...`` (``--help`` on each).

Bad input prints one line on stderr and exits with code 2; scripts and graders rely on that.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from gancourse.checkpoint import CheckpointError
from gancourse.conditional import TRAINING
from gancourse.config import PROFILE_NAMES, UNBOUNDED_STEPS, make_config
from gancourse.data import DATASETS, Batches, DataError, load_dataset, to_uint8
from gancourse.device import get_device, pick_profile, seed_everything
from gancourse.models import build_models
from gancourse.pix2pix import TASKS
from gancourse.plot import SampleSnapshots, save_run_figures
from gancourse.runs import load, sample
from gancourse.train import TrainingDiverged, train_gan

MODEL_NAMES = ("mlp-gan", "dcgan", "cgan", "acgan", "pix2pix")


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
    train.add_argument("--task", choices=TASKS, default="edges",
                       help="pix2pix only: edges (edge map -> image) or lowres (8x8 -> 32x32)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--data-root",
                       help="dataset root (default: $GANCOURSE_DATA, then data/ in a checkout, "
                            "else the user data folder)")
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

    ev = sub.add_parser("evaluate", help="measure a run or a file of samples (Parzen, FID, KID, ...)",
                        description="Prints Parzen log-likelihood (the GAN paper's protocol), FID and KID "
                                    "in the domain classifier's features, coverage entropy, and "
                                    "accuracy when the samples have labels, with each one's runtime.")
    ev.add_argument("target", metavar="RUN_DIR_or_FILE.npz",
                    help="a run directory written by train, or an .npz written by sample")
    ev.add_argument("--dataset", required=True, choices=tuple(DATASETS),
                    help=f"the real data to compare with: {', '.join(DATASETS)}")
    ev.add_argument("--n", type=_positive(int), default=10000,
                    help="samples to draw from a run directory (default 10000, the paper's)")
    ev.add_argument("--seed", type=int, default=0, help="random seed for drawing samples (default 0)")
    ev.add_argument("--profile", choices=PROFILE_NAMES,
                    help="which cached domain classifier to use (default: from the device)")
    ev.add_argument("--data-root",
                    help="dataset root (default: $GANCOURSE_DATA, then data/ in a checkout, "
                         "else the user data folder)")
    ev.add_argument("--json", metavar="OUT", help="also write the results to this JSON file")

    tr = sub.add_parser("translate", help="translate images with a trained pix2pix run",
                        description="Reads uint8 input images (N, 28, 28) or (N, 32, 32) under key 'images' "
                                    "(e.g. edge maps) and writes G's outputs, same shape, under 'images'.")
    tr.add_argument("run_dir", metavar="RUN_DIR", help="a pix2pix run directory written by train")
    tr.add_argument("--input", required=True, help="input .npz file with key 'images'")
    tr.add_argument("--out", required=True, help="output .npz file")
    return parser


def cmd_train(args) -> None:
    device = get_device()
    profile = pick_profile(device, args.profile)
    overrides = {"dataset": args.dataset, "seed": args.seed, "task": args.task}
    if args.steps:
        overrides.update(num_steps=args.steps, minutes=None)
    if args.minutes:
        overrides.update(num_steps=UNBOUNDED_STEPS, minutes=args.minutes)
    cfg = make_config(args.model, profile, **overrides)
    print(f"profile: {profile}\n{cfg}")
    if cfg.model == "pix2pix":
        return _train_pix2pix(cfg, device, args)
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


def _train_pix2pix(cfg, device, args) -> None:
    import matplotlib.pyplot as plt

    from gancourse.pix2pix import load_pairs, make_steps, translate
    from gancourse.plot import plot_history, show_images

    train, test = (load_pairs(cfg.dataset, split, cfg.task, root=args.data_root) for split in ("train", "test"))
    print(f"{train.name}: {len(train)} pairs of {tuple(train.inputs.shape[1:])}")
    seed_everything(cfg.seed)
    G, D = build_models("pix2pix", **cfg.model_kwargs)
    G, D = G.to(device), D.to(device)
    batches = Batches(train.targets, train.inputs, cfg.batch_size, cfg.seed, device)
    history = train_gan(G, D, batches, cfg, run_dir=args.out, **make_steps())
    out = Path(args.out)
    x, y = test.inputs[:8], test.targets[:8]
    for name, fig in (("samples.png", show_images(torch.cat([x, translate(G, x), y]), nrow=8,
                                                  title="held-out inputs, translations, targets")),
                      ("losses.png", plot_history(history) if history else None)):
        if fig is not None:
            fig.savefig(out / name, dpi=100, bbox_inches="tight")
            plt.close(fig)
    if history:
        print(f"trained {history[-1]['step']} steps in {history[-1]['time_s']:.0f} s: "
              f"L1 {history[-1]['l1']:.3f}")
    print(f"wrote {out}/")


def cmd_translate(args) -> None:
    from gancourse.pix2pix import pad, translate

    G, cfg = load(args.run_dir)
    if cfg.model != "pix2pix":
        raise UsageError(f"translate needs a pix2pix run; {args.run_dir} holds {cfg.model!r}")
    path = Path(args.input)
    if not path.is_file():
        raise UsageError(f"{path} is not a file; pass an .npz with uint8 images under key 'images'")
    try:
        with np.load(path) as npz:
            images = npz["images"]
    except Exception as err:  # noqa: BLE001 - unreadable file, missing key: one line
        raise UsageError(f"cannot read images from {path} ({type(err).__name__}: {err})") from None
    if images.ndim != 3 or images.shape[1:] not in ((28, 28), (32, 32)) or images.dtype != np.uint8:
        raise UsageError(f"expected uint8 images of shape (N, 28, 28) or (N, 32, 32) in {path}, "
                         f"got {images.dtype} {images.shape}")
    x = torch.from_numpy(images).float().div(127.5).sub(1).unsqueeze(1)
    small = images.shape[1] == 28
    out = translate(G, pad(x) if small else x)
    out = out[..., 2:30, 2:30] if small else out
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, images=to_uint8(out).numpy())
    print(f"wrote {args.out}: images {tuple(out.shape[:1] + out.shape[2:])} uint8")


def cmd_sample(args) -> None:
    G, cfg = load(args.run_dir)
    if cfg.model == "pix2pix":
        raise UsageError(f"{args.run_dir} holds a pix2pix model, which translates inputs: use translate")
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


def _read_samples(path: Path) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Images in [-1, 1] (N, 1, 28, 28) and labels (None if absent or all -1) from an .npz file."""
    try:
        with np.load(path) as npz:
            if "images" not in npz:
                raise UsageError(f"{path} has no 'images' array (keys: {', '.join(npz.files) or 'none'}); "
                                 "write one with: python -m gancourse sample")
            images, labels = npz["images"], npz["labels"] if "labels" in npz else None
    except UsageError:
        raise
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same one-line message
        raise UsageError(f"cannot read {path} as an .npz file ({type(err).__name__}: {err})") from None
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise UsageError(f"expected images of shape (N, 28, 28) in {path}, got {images.shape}")
    if images.dtype == np.uint8:
        x = torch.from_numpy(images).float().div(127.5).sub(1)
    else:
        x = torch.from_numpy(images).float()
        if x.min() < -1.001 or x.max() > 1.001:
            raise UsageError(f"float images in {path} must lie in [-1, 1]; save uint8 0..255 otherwise")
    y = None
    if labels is not None and (labels >= 0).all():
        if len(labels) != len(images):
            raise UsageError(f"{path} has {len(images)} images but {len(labels)} labels")
        y = torch.from_numpy(labels.astype(np.int64))
    return x.unsqueeze(1), y


def cmd_evaluate(args) -> None:
    from gancourse import metrics

    target = Path(args.target)
    if target.is_dir():
        G, cfg = load(target)
        if cfg.model == "pix2pix":
            raise UsageError(f"{target} holds a pix2pix model, which translates inputs: write its outputs "
                             "with translate, then evaluate that .npz")
        num_classes = getattr(G, "num_classes", 0)
        labels = torch.arange(args.n) % num_classes if num_classes else None
        seed_everything(args.seed)
        images = sample(G, args.n, labels=labels).clamp(-1, 1)
        what = f"{args.n} samples of {cfg.model} from {target}"
    elif target.is_file():
        images, labels = _read_samples(target)
        what = f"{len(images)} images from {target}"
    else:
        raise UsageError(f"{target} is neither a run directory nor an .npz file")
    profile = pick_profile(get_device(), args.profile)
    print(f"evaluating {what} against {args.dataset}")
    result = metrics.evaluate(images, args.dataset, labels, profile=profile, root=args.data_root)
    sec = result["seconds"]
    rows = [("Parzen log-likelihood (nats)", f"{result['parzen_ll']:.1f} +- {result['parzen_se']:.1f}"
             f"  (sigma {result['parzen_sigma']:.3f})", sec["parzen"]),
            ("FID, classifier features", f"{result['fid']:.2f}", sec["fid"]),
            ("KID, classifier features", f"{result['kid']:.4f} +- {result['kid_std']:.4f}", sec["kid"]),
            ("coverage entropy (max 2.303)", f"{result['coverage_entropy']:.3f}", sec["coverage"])]
    if "accuracy" in result:
        rows.append(("accuracy on the labels", f"{result['accuracy']:.1%}", sec["accuracy"]))
        rows.append(("within-class spread (real: 1)", f"{result['class_spread']:.2f}",
                     sec["class_spread"]))
    print(f"\n{'metric':<30} {'value':<36} {'time':>6}")
    for name, value, seconds in rows:
        print(f"{name:<30} {value:<36} {seconds:>5.1f}s")
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))
        print(f"wrote {out}")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 training diverged, 2 bad input)."""
    try:
        args = build_parser().parse_args(argv)
        {"train": cmd_train, "sample": cmd_sample, "evaluate": cmd_evaluate,
         "translate": cmd_translate}[args.command](args)
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
