"""Training speed and time-to-quality: the course's CPU recipes against the lectures' recipes.

For each model, two recipes are trained in the same run:
  lecture: the lecture's architecture (width 128 for the conv models) fed by the slides' per-item
           DataLoader (ToTensor + Normalize on every image);
  course:  the `cpu` profile's architecture fed by in-memory index batches.
It prints images/s of a training step, then trains each recipe until the Fréchet distance in the
domain classifier's features (2,000 samples against 2,000 test images) reaches --fid, or the
budget runs out. Training time excludes the evaluations.

Usage: python benchmarks/train_speed.py [--models dcgan cgan] [--fid 30] [--minutes 5]
"""
from __future__ import annotations

import argparse
import itertools
import time

import torch
import torchvision
from torch.utils.data import DataLoader
from torchvision import transforms

import gancourse as gc
from gancourse import metrics
from gancourse.classifier import load_classifier
from gancourse.conditional import TRAINING
from gancourse.data import resolve_root
from gancourse.train import make_optimizer

LECTURE_KWARGS = {"mlp-gan": {}, "dcgan": {"width": 128}, "cgan": {"width": 128},
                  "acgan": {"width": 128}}


def slides_loader(batch_size: int):
    """The slides' pipeline as a step -> batch callable (per-item transforms, reshuffled epochs)."""
    root, _ = resolve_root()
    dataset = torchvision.datasets.MNIST(str(root), train=True, transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize([0.5], [0.5])]))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True)
    batches = itertools.chain.from_iterable(iter(loader) for _ in itertools.count())
    return lambda step: next(batches)


def build(model: str, recipe: str, data):
    cfg = gc.make_config(model, "cpu")
    kwargs = LECTURE_KWARGS[model] if recipe == "lecture" else cfg.model_kwargs
    gc.seed_everything(0)
    G, D = gc.build_models(model, latent_dim=cfg.latent_dim, **kwargs)
    if recipe == "course" and cfg.channels_last:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    batches = (slides_loader(cfg.batch_size) if recipe == "lecture"
               else gc.Batches(data.images, data.labels, cfg.batch_size, seed=0))
    steps = TRAINING.get(model, {})
    d_step, g_step = steps.get("d_step", gc.discriminator_step), steps.get("g_step", gc.generator_step)
    d_loss = steps.get("d_loss", gc.discriminator_loss)
    g_loss = steps.get("g_loss", gc.generator_loss_nonsaturating)
    opt_g, opt_d = make_optimizer(G, cfg.lr_g, cfg), make_optimizer(D, cfg.lr_d, cfg)

    def step(t: int) -> None:
        batch = batches(t)
        d_step(G, D, batch, opt_d, d_loss)
        g_step(G, D, batch, opt_g, g_loss)
    return G, step, cfg.batch_size, sum(p.numel() for p in G.parameters())


def images_per_second(step, batch_size: int, n: int = 30) -> float:
    for t in range(3):  # warm-up
        step(t)
    start = time.perf_counter()
    for t in range(3, 3 + n):
        step(t)
    return n * batch_size / (time.perf_counter() - start)


def time_to_fid(G, step, clf, real, threshold: float, budget_s: float, eval_every_s: float):
    """Train until FID <= threshold; returns (seconds, steps, fid, curve) with seconds=None if not reached."""
    train_s, t, curve, next_eval = 0.0, 0, [], eval_every_s
    conditional = getattr(G, "num_classes", 0) > 0
    while train_s < budget_s:
        start = time.perf_counter()
        step(t)
        t += 1
        train_s += time.perf_counter() - start
        if train_s >= next_eval or train_s >= budget_s:
            labels = torch.arange(len(real)) % 10 if conditional else None
            fake = gc.sample(G, len(real), labels=labels)
            score = metrics.fid(clf, real, fake)
            curve.append((round(train_s), t, round(score, 1)))
            next_eval += eval_every_s
            if score <= threshold:
                return train_s, t, score, curve
    return None, t, curve[-1][2], curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mlp-gan", "dcgan", "cgan", "acgan"])
    parser.add_argument("--recipes", nargs="+", default=["lecture", "course"])
    parser.add_argument("--fid", type=float, default=30.0, help="quality threshold (lower is better)")
    parser.add_argument("--minutes", type=float, default=5.0, help="budget per recipe")
    parser.add_argument("--eval-every", type=float, default=20.0, help="seconds of training")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_flush_denormal(True)  # as train_gan does
    data = gc.load_dataset("mnist", "train")
    clf = load_classifier("mnist")
    real = gc.load_dataset("mnist", "test").images
    real = real[metrics.random_subset(len(real), 2000)]  # a random draw: the split is ordered by writer
    print(f"MNIST ({data.source}), {torch.get_num_threads()} threads; threshold: classifier-feature "
          f"FID <= {args.fid:g} (2,000 vs 2,000); budget {args.minutes:g} min per recipe")
    rows = []
    for model in args.models:
        for recipe in args.recipes:
            G, step, batch_size, params = build(model, recipe, data)
            speed = images_per_second(step, batch_size)
            G, step, batch_size, params = build(model, recipe, data)  # fresh weights for the race
            seconds, steps, score, curve = time_to_fid(G, step, clf, real, args.fid,
                                                       args.minutes * 60, args.eval_every)
            rows.append((model, recipe, params, speed, seconds, steps, score))
            print(f"{model:>8} {recipe:>8}: {speed:8.0f} img/s, curve (s, steps, FID) {curve}", flush=True)
    print(f"\n{'model':>8} {'recipe':>8} {'G params':>10} {'img/s':>8} {'s to FID':>9} {'steps':>6} "
          f"{'FID':>6}")
    for model, recipe, params, speed, seconds, steps, score in rows:
        reached = f"{seconds:9.0f}" if seconds is not None else f"{'> ' + str(int(args.minutes * 60)):>9}"
        print(f"{model:>8} {recipe:>8} {params:>10,} {speed:>8.0f} {reached} {steps:>6} {score:>6.1f}")
    for model in args.models:
        by = {r[1]: r for r in rows if r[0] == model}
        if {"lecture", "course"} <= set(by):
            speedup = by["course"][3] / by["lecture"][3]
            t_lec, t_our = by["lecture"][4], by["course"][4]
            ratio = f"{t_lec / t_our:.1f}x" if t_lec and t_our else "n/a (a recipe did not reach it)"
            print(f"{model}: course recipe {speedup:.1f}x the images/s; time to FID {args.fid:g}: {ratio}")


if __name__ == "__main__":
    main()
