"""What moves the GAN paper's Parzen number: course recipes on MNIST, scored along their training.

Each variant trains on train[:50000] (the paper's protocol holds out train[50000:60000] to choose the
kernel width) for --minutes of training time; at each mark of --marks minutes the clock stops and
the generator G, and moving averages of its weights (one per --ema decay, all kept in the same run),
are scored: the Parzen log-likelihood of 10,000 samples on the 10,000 test images (sigma chosen on
train[50000:51000], metrics.parzen), and the Fréchet distance in the domain classifier's features
against the test split (10,000 vs 10,000). The clock counts training steps only.

Prints one row per (variant, generator, mark) and writes them to --csv.

Usage: python benchmarks/parzen.py [--variants dcgan cgan mlp-gan] [--minutes 10] [--marks 1 2 5 10]
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import time
from pathlib import Path

import torch

import gancourse as gc
from gancourse import metrics
from gancourse.classifier import load_classifier
from gancourse.ema import averaged_copy, update_average
from gancourse.models.vae import autoencoder_step
from gancourse.run import make_optimizer, make_scheduler
from gancourse.train import family_steps, generator_step, steps_for

# name -> (course recipe, overrides of its cpu profile)
VARIANTS = {
    "mlp-gan": ("mlp-gan", {}),
    "dcgan": ("dcgan", {}),
    "cgan": ("cgan", {}),
    "vae": ("vae", {}),  # not a GAN: lecture 10's VAE, decoded from its prior
    "dcgan-wide": ("dcgan", {"model_kwargs": {"width": 64, "d_width": 128}}),
    # linear decay: constant for half the steps, then to 0 at the last (about 5 minutes on 2 cores)
    "dcgan-decay5": ("dcgan", {"lr_schedule": "linear-decay", "num_steps": 9000}),
}


def build(recipe: str, overrides: dict, data):
    """G, D and a step(t) callable of the recipe's cpu profile, as train_gan trains it."""
    cfg = gc.make_config(recipe, "cpu", minutes=None, **overrides)
    gc.seed_everything(cfg.seed)
    G, D = gc.build_models(cfg.model, latent_dim=cfg.latent_dim, **cfg.model_kwargs)
    if cfg.channels_last:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    own = family_steps(cfg) or steps_for(cfg)
    batches = gc.Batches(data.images, data.labels, cfg.batch_size, seed=cfg.seed)
    opt_g, opt_d = make_optimizer(G, cfg.lr_g, cfg), make_optimizer(D, cfg.lr_d, cfg)
    schedulers = [s for s in (make_scheduler(opt_g, cfg), make_scheduler(opt_d, cfg)) if s is not None]
    torch.manual_seed(cfg.seed)
    if "train" in own:  # the VAE of lecture 10: decoder G and encoder D trained by reconstruction
        def step(t: int) -> None:
            autoencoder_step(G, D, batches(t)[0], [opt_g, opt_d], variational=cfg.loss == "vae", sigma=cfg.sigma)
        return G, step, cfg
    d_step, g_step = own["d_step"], own.get("g_step", generator_step)

    def step(t: int) -> None:
        for j in range(cfg.k):
            batch = batches(t * cfg.k + j)
            d_step(G, D, batch, opt_d, own["d_loss"])
        g_step(G, D, batch, opt_g, own["g_loss"])
        for scheduler in schedulers:
            scheduler.step()
    return G, step, cfg


class Judge:
    """Parzen (the paper's protocol) and classifier-feature FID of 10,000 samples of a generator."""

    def __init__(self, n_samples: int = 10000) -> None:
        train, test = gc.load_dataset("mnist", "train"), gc.load_dataset("mnist", "test")
        if len(train) < 60000:
            raise SystemExit("this benchmark needs the full MNIST (the shipped sample has 5,000 images); "
                             "set GANCOURSE_DATA to a folder holding MNIST/raw")
        unit = lambda x: (x.flatten(1) + 1) / 2  # noqa: E731  [-1, 1] -> [0, 1]
        self.test, self.validation = unit(test.images), unit(train.images[50000:51000])
        self.clf = load_classifier("mnist")
        self.real_features = metrics.features(self.clf, test.images)
        self.n = n_samples

    def __call__(self, G) -> dict:
        start, rng = time.perf_counter(), torch.get_rng_state()
        torch.manual_seed(1)  # the same noise for every generator and mark
        conditional = getattr(G, "num_classes", 0) > 0
        labels = torch.arange(self.n) % 10 if conditional else None  # balanced classes
        fake = gc.sample(G, self.n, labels=labels).clamp(-1, 1)
        p = metrics.parzen(((fake.flatten(1) + 1) / 2), self.test, self.validation)
        fid = metrics.frechet_distance(self.real_features, metrics.features(self.clf, fake))
        torch.set_rng_state(rng)  # training's noise goes on as if no one had looked
        return {"parzen": p["ll"], "parzen_se": p["se"], "sigma": p["sigma"], "fid": fid,
                "eval_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["dcgan", "cgan", "mlp-gan"], choices=sorted(VARIANTS))
    parser.add_argument("--minutes", type=float, default=10.0, help="training minutes per variant")
    parser.add_argument("--marks", type=float, nargs="+", default=[1, 2, 5, 10], help="minutes at which to score")
    parser.add_argument("--ema", type=float, nargs="*", default=[0.99, 0.999], help="decays of averages to score")
    parser.add_argument("--n-samples", type=int, default=10000)
    parser.add_argument("--csv", default="benchmarks/results/parzen_cpu.csv")
    args = parser.parse_args()
    torch.set_flush_denormal(True)  # as train_gan does
    data = gc.load_dataset("mnist", "train")
    data = dataclasses.replace(data, images=data.images[:50000], labels=data.labels[:50000])
    judge = Judge(args.n_samples)
    marks = sorted(m for m in args.marks if m <= args.minutes)
    print(f"MNIST ({data.source}), train[:50000], {torch.get_num_threads()} threads; Parzen (nats, higher is "
          f"better) and classifier FID (lower is better) of {args.n_samples:,} samples", flush=True)
    rows = []
    for name in args.variants:
        recipe, overrides = VARIANTS[name]
        G, step, cfg = build(recipe, overrides, data)
        averages = {decay: averaged_copy(G) for decay in args.ema}
        train_s, t = 0.0, 0
        for mark in marks:
            while train_s < mark * 60:
                start = time.perf_counter()
                step(t)
                for decay, G_ema in averages.items():
                    update_average(G_ema, G, decay, t)
                t += 1
                train_s += time.perf_counter() - start
            for label, net in {"G": G, **{f"EMA {d:g}": a for d, a in averages.items()}}.items():
                score = judge(net)
                row = {"variant": name, "generator": label, "minutes": mark, "steps": t,
                       "batch": cfg.batch_size, **{k: round(v, 4) for k, v in score.items()}}
                rows.append(row)
                print(f"{name:>16} {label:>10} {mark:5g} min {t:6d} steps  Parzen {score['parzen']:6.1f} "
                      f"+- {score['parzen_se']:.1f} (sigma {score['sigma']:.3f})  FID {score['fid']:6.2f}  "
                      f"[{score['eval_s']:.0f} s to score]", flush=True)
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as f:  # rewritten after each variant: a cut run keeps its rows
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    best = max(rows, key=lambda r: r["parzen"])
    print(f"\nbest Parzen: {best['parzen']:.1f} +- {best['parzen_se']:.1f} nats ({best['variant']}, {best['generator']}, "
          f"{best['minutes']:g} min); the GAN paper: 225 +- 2")


if __name__ == "__main__":
    main()
