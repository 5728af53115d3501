"""Training speed and quality per CPU-minute: the slides' recipes against the course's.

For each model, two recipes train for the same budget in one run, on MNIST train[:50000] (the Parzen
protocol holds out train[50000:60000]):
  slides:     the lecture's architecture (width 128 for the conv models) fed by the slides' per-item
              DataLoader (ToTensor + Normalize on every image);
  course:     the `cpu` profile's architecture fed by in-memory index batches;
  course+EMA: the same run, sampled from a moving average of G's weights (decay --ema; `--ema D` on
              the command line).
It prints the images/s of a training step; the training time at which the Fréchet distance in the
domain classifier's features (2,000 samples against a seeded random draw of 2,000 test images, every
--eval-every seconds of training) first reaches --fid; and at the end of the budget, FID with 10,000
samples against the 10,000 test images and the GAN paper's Parzen log-likelihood (benchmarks/parzen.py).
The clock counts training steps only, not the evaluations.

Usage: python benchmarks/train_speed.py [--models mlp-gan dcgan cgan acgan] [--fid 30] [--minutes 5]
       python benchmarks/train_speed.py --quick   # a smoke run of a few minutes
"""
from __future__ import annotations

import argparse
import itertools
import platform
import time

import torch
import torchvision
from torch.utils.data import DataLoader, Subset
from torchvision import transforms

import gancourse as gc
from gancourse import metrics
from gancourse.data import resolve_root
from gancourse.ema import averaged_copy, update_average
from gancourse.run import make_optimizer
from gancourse.train import family_steps, generator_step, steps_for
from parzen import Judge  # this folder's Parzen and FID judge

SLIDES_KWARGS = {"mlp-gan": {}, "dcgan": {"width": 128}, "cgan": {"width": 128}, "acgan": {"width": 128}}
N_TRAIN = 50000


def slides_loader(batch_size: int):
    """The slides' pipeline as a step -> batch callable (per-item transforms, reshuffled epochs)."""
    root, _ = resolve_root()
    dataset = torchvision.datasets.MNIST(str(root), train=True, transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize([0.5], [0.5])]))
    loader = DataLoader(Subset(dataset, range(N_TRAIN)), batch_size=batch_size, shuffle=True, drop_last=True)
    batches = itertools.chain.from_iterable(iter(loader) for _ in itertools.count())
    return lambda step: next(batches)


def build(model: str, recipe: str, data):
    """G and a step(t) callable: the slides' recipe or the course's cpu profile, trained as train_gan does."""
    cfg = gc.make_config(model, "cpu")
    kwargs = SLIDES_KWARGS[model] if recipe == "slides" else cfg.model_kwargs
    gc.seed_everything(0)
    G, D = gc.build_models(model, latent_dim=cfg.latent_dim, **kwargs)
    if recipe == "course" and cfg.channels_last:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    batches = (slides_loader(cfg.batch_size) if recipe == "slides"
               else gc.Batches(data.images, data.labels, cfg.batch_size, seed=0))
    own = family_steps(cfg) or steps_for(cfg)
    d_step, g_step = own["d_step"], own.get("g_step", generator_step)
    opt_g, opt_d = make_optimizer(G, cfg.lr_g, cfg), make_optimizer(D, cfg.lr_d, cfg)

    def step(t: int) -> None:
        batch = batches(t)
        d_step(G, D, batch, opt_d, own["d_loss"])
        g_step(G, D, batch, opt_g, own["g_loss"])
    return G, step, cfg.batch_size


def images_per_second(step, batch_size: int, n: int = 30) -> float:
    for t in range(3):  # warm-up
        step(t)
    start = time.perf_counter()
    for t in range(3, 3 + n):
        step(t)
    return n * batch_size / (time.perf_counter() - start)


def race(G, step, generators: dict, clf, real, threshold: float, budget_s: float, eval_every_s: float,
         ema: float | None):
    """Train for budget_s; returns {name: (seconds to threshold or None, steps then)}, steps, curves."""
    train_s, t, next_eval = 0.0, 0, eval_every_s
    G_ema = averaged_copy(G) if ema else None
    nets = {name: (G_ema if averaged else G) for name, averaged in generators.items()}
    reached, curves = {name: (None, None) for name in nets}, {name: [] for name in nets}
    labels = torch.arange(len(real)) % 10 if getattr(G, "num_classes", 0) else None
    while train_s < budget_s:
        start = time.perf_counter()
        step(t)
        if G_ema is not None:
            update_average(G_ema, G, ema, t)
        t += 1
        train_s += time.perf_counter() - start
        if train_s >= next_eval or train_s >= budget_s:
            next_eval += eval_every_s
            rng = torch.get_rng_state()
            for name, net in nets.items():
                torch.manual_seed(2)  # the same noise for every generator
                score = metrics.fid(clf, real, gc.sample(net, len(real), labels=labels))
                curves[name].append((round(train_s), t, round(score, 1)))
                if score <= threshold and reached[name][0] is None:
                    reached[name] = (train_s, t)
            torch.set_rng_state(rng)  # training's noise goes on as if no one had looked
    return reached, t, curves, nets


def machine() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or platform.machine()
    return f"{cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mlp-gan", "dcgan", "cgan", "acgan"],
                        choices=sorted(SLIDES_KWARGS))
    parser.add_argument("--fid", type=float, default=30.0, help="quality threshold (lower is better)")
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per recipe")
    parser.add_argument("--eval-every", type=float, default=20.0, help="seconds of training")
    parser.add_argument("--ema", type=float, default=0.999, help="decay of course+EMA's average")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: MLP GAN and DCGAN, 30 s each, 2,000 samples at the end")
    args = parser.parse_args()
    n_final = 10000
    if args.quick:
        args.models, args.minutes, args.eval_every, n_final = ["mlp-gan", "dcgan"], 0.5, 10.0, 2000
    torch.set_flush_denormal(True)  # as train_gan does
    data = gc.load_dataset("mnist", "train")
    data = gc.ImageData(data.images[:N_TRAIN], data.labels[:N_TRAIN], data.name, "train[:50000]", data.source,
                        data.classes)
    judge = Judge(n_final)
    test = gc.load_dataset("mnist", "test").images
    real = test[metrics.random_subset(len(test), 2000)]  # a random draw: the split is ordered by writer
    print(f"MNIST ({data.source}), train[:50000]; {machine()}\nthreshold: classifier-feature FID <= {args.fid:g} "
          f"(2,000 vs 2,000, every {args.eval_every:g} s); budget {args.minutes:g} min per recipe; at the end: "
          f"FID and Parzen of {n_final:,} samples", flush=True)
    rows = []
    for model in args.models:
        for recipe in ("slides", "course"):
            G, step, batch_size = build(model, recipe, data)
            speed = images_per_second(step, batch_size)
            G, step, batch_size = build(model, recipe, data)  # fresh weights for the race
            generators = {"slides": False} if recipe == "slides" else {"course": False, "course+EMA": True}
            reached, steps, curves, nets = race(G, step, generators, judge.clf, real, args.fid,
                                                args.minutes * 60, args.eval_every,
                                                args.ema if recipe == "course" else None)
            for name, net in nets.items():
                end = judge(net)
                rows.append(dict(model=model, recipe=name, params=sum(p.numel() for p in G.parameters()),
                                 speed=speed, reached=reached[name], steps=steps, **end))
                print(f"{model:>8} {name:>10}: {speed:6.0f} img/s, {steps} steps; FID curve (s, steps, FID) "
                      f"{curves[name]}; end: FID {end['fid']:.1f}, Parzen {end['parzen']:.1f} +- "
                      f"{end['parzen_se']:.1f}", flush=True)
    print(f"\n{'model':>8} {'recipe':>10} {'G params':>10} {'img/s':>7} {'s to FID':>9} {'steps':>7} "
          f"{'FID end':>8} {'Parzen end':>14}")
    for r in rows:
        seconds, at = r["reached"]
        reached = f"{seconds:9.0f}" if seconds is not None else f"{'> ' + str(round(args.minutes * 60)):>9}"
        print(f"{r['model']:>8} {r['recipe']:>10} {r['params']:>10,} {r['speed']:>7.0f} {reached} {r['steps']:>7} "
              f"{r['fid']:>8.1f} {r['parzen']:>7.1f} +- {r['parzen_se']:.1f}")
    for model in args.models:
        by = {r["recipe"]: r for r in rows if r["model"] == model}
        t_slides, t_course = by["slides"]["reached"][0], by["course+EMA"]["reached"][0]
        ratio = (f"{t_slides / t_course:.1f}x sooner" if t_slides and t_course else
                 "n/a (the slides' recipe did not reach it)" if t_course else "n/a (not reached)")
        print(f"{model}: course {by['course']['speed'] / by['slides']['speed']:.1f}x the images/s; "
              f"time to FID {args.fid:g} with EMA: {ratio}; FID at the end {by['slides']['fid']:.1f} (slides) -> "
              f"{by['course']['fid']:.1f} (course) -> {by['course+EMA']['fid']:.1f} (course+EMA)")


if __name__ == "__main__":
    main()
