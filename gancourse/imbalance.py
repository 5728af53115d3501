"""Class-imbalanced data (lecture 13): one class cut on purpose, the plain remedies, and the judge.

The experiment: one class of the training split keeps a fraction of its images
(:func:`make_imbalanced`); each remedy then hands the same small CNN (the course's
:class:`~gancourse.classifier.DomainClassifier`, freshly initialised) a training set or a loss
(:func:`remedy_data`); every classifier trains for the same number of steps
(:func:`train_classifier`) and is scored on the real, balanced test split (:func:`score`): the
minority class's recall and the balanced accuracy (the mean of the per-class recalls).

Over-sampling, under-sampling and SMOTE come from imbalanced-learn, the library users already know;
class weights from scikit-learn's "balanced" rule, n / (C n_c).
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gancourse.classifier import DomainClassifier, predict
from gancourse.data import Batches, ImageData

PLAIN_REMEDIES = ("none", "class weights", "over-sampling", "under-sampling", "SMOTE")


def make_imbalanced(data: ImageData, minority: int, keep: float, seed: int = 0) -> ImageData:
    """``data`` with class ``minority`` cut to ``keep`` of its images (at least 2, drawn at random with
    ``seed``); the other classes untouched, the images' order kept. Data already cut this way comes
    back as it is (never cut twice)."""
    if data.imbalance is not None:
        if data.imbalance == (minority, keep):
            return data
        raise ValueError(f"{data.name} is already cut (class {data.imbalance[0]} to {data.imbalance[1]:g}); "
                         f"start from the full split to cut class {minority} to {keep:g}")
    num_classes = len(data.classes) if data.classes else int(data.labels.max()) + 1
    if not (isinstance(minority, int) and 0 <= minority < num_classes):
        raise ValueError(f"minority must be a class of {data.name}, 0..{num_classes - 1}, got {minority!r}")
    if not (isinstance(keep, (int, float)) and 0 < keep <= 1):
        raise ValueError(f"keep must be a fraction in (0, 1], got {keep!r}")
    members = torch.nonzero(data.labels == minority).flatten()
    n_keep = max(2, round(keep * len(members)))
    if n_keep >= len(members):
        return replace(data, imbalance=(minority, keep))
    gen = torch.Generator().manual_seed(seed)
    dropped = members[torch.randperm(len(members), generator=gen)[n_keep:]]
    mask = torch.ones(len(data), dtype=torch.bool)
    mask[dropped] = False
    name = data.classes[minority] if data.classes else str(minority)
    return replace(data, images=data.images[mask], labels=data.labels[mask],
                   source=f"{data.source}; class {minority} ({name}) cut to {n_keep:,} of {len(members):,} images",
                   imbalance=(minority, keep))


def class_counts(labels: Tensor, num_classes: int = 10) -> list[int]:
    """How many images each class has."""
    return torch.bincount(labels.cpu(), minlength=num_classes).tolist()


def class_weights(labels: Tensor, num_classes: int = 10) -> Tensor:
    """scikit-learn's "balanced" weights, n / (C n_c): every class weighs the same in the loss."""
    counts = torch.bincount(labels.cpu(), minlength=num_classes).double()
    if (counts == 0).any():
        raise ValueError(f"class {int(torch.nonzero(counts == 0)[0])} has no images: it cannot be weighted")
    return (len(labels) / (num_classes * counts)).float()


def resample(images: Tensor, labels: Tensor, method: str, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Balance the classes with imbalanced-learn: "over-sampling" (RandomOverSampler: minority images
    repeated), "under-sampling" (RandomUnderSampler: every class cut to the smallest) or "SMOTE"
    (new minority images on the segments between a minority image and one of its 5 nearest minority
    neighbours, in pixel space)."""
    from imblearn.over_sampling import SMOTE, RandomOverSampler
    from imblearn.under_sampling import RandomUnderSampler

    samplers = {"over-sampling": lambda: RandomOverSampler(random_state=seed),
                "under-sampling": lambda: RandomUnderSampler(random_state=seed),
                "SMOTE": lambda: SMOTE(k_neighbors=min(5, smallest - 1), random_state=seed)}
    counts = torch.bincount(labels)
    smallest = int(counts[counts > 0].min())  # SMOTE needs k_neighbors < the smallest class
    if method not in samplers:
        raise ValueError(f"unknown resampling {method!r}; choose one of {', '.join(samplers)}")
    shape = images.shape[1:]
    x, y = samplers[method]().fit_resample(images.flatten(1).numpy(), labels.numpy())
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).view(-1, *shape), torch.from_numpy(y).long()


def smote_only(images: Tensor, labels: Tensor, minority: int, seed: int = 0) -> Tensor:
    """The minority images SMOTE adds (without the originals): what lecture 13 looks at."""
    n = len(images)
    x, y = resample(images, labels, "SMOTE", seed)
    return x[n:][y[n:] == minority]  # imbalanced-learn appends the new samples after the originals


@torch.no_grad()
def generate(G: nn.Module, label: int, n: int, seed: int = 0, batch_size: int = 500) -> Tensor:
    """``n`` images of class ``label`` from a conditional generator, on the CPU, in [-1, 1]."""
    from gancourse.runs import sample
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, G.latent_dim, generator=gen)
    return sample(G, z=z, labels=torch.full((n,), label), batch_size=batch_size)


def remedy_data(remedy: str, data: ImageData, minority: int, seed: int = 0,
                generator: nn.Module | None = None, real_share: float = 0.0) -> tuple[Tensor, Tensor, Tensor | None]:
    """The (images, labels, class weights or None) that ``remedy`` trains the classifier on.

    "none": the imbalanced data as it is; "class weights": the same with weights n / (C n_c) in the
    loss; "over-sampling", "under-sampling", "SMOTE": :func:`resample`; any other name with a
    ``generator``: the data plus new minority images, as many as bring the class to the other
    classes' mean count: the share ``real_share`` of them real minority images drawn again at random
    (over-sampling), the rest generated.
    """
    images, labels = data.images, data.labels
    if remedy == "none":
        return images, labels, None
    if remedy == "class weights":
        return images, labels, class_weights(labels, len(data.classes))
    if remedy in ("over-sampling", "under-sampling", "SMOTE"):
        return (*resample(images, labels, remedy, seed), None)
    if generator is None:
        raise ValueError(f"unknown remedy {remedy!r}: choose one of {', '.join(PLAIN_REMEDIES)}, "
                         f"or pass the generator whose images it adds")
    counts = class_counts(labels, len(data.classes))
    others = [c for i, c in enumerate(counts) if i != minority]
    if not 0 <= real_share <= 1:
        raise ValueError(f"real_share must be a fraction in [0, 1], got {real_share!r}")
    n_new = max(0, round(sum(others) / len(others)) - counts[minority])
    n_real = round(real_share * n_new)
    members = torch.nonzero(labels == minority).flatten()
    repeats = members[torch.randint(len(members), (n_real,), generator=torch.Generator().manual_seed(seed))]
    new = torch.cat([images[repeats], generate(generator, minority, n_new - n_real, seed)])
    return torch.cat([images, new]), torch.cat([labels, torch.full((n_new,), minority)]), None


def train_classifier(images: Tensor, labels: Tensor, steps: int, *, weights: Tensor | None = None,
                     batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
                     device: torch.device | str = "cpu") -> DomainClassifier:
    """A fresh DomainClassifier trained for ``steps`` Adam steps of ``batch_size`` on (images, labels),
    the cross-entropy weighted per class by ``weights`` if given. Seeded: same inputs, same model."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clf = DomainClassifier().to(device)
    batches = Batches(images, labels, batch_size=batch_size, seed=seed, device=device)
    weights = None if weights is None else weights.to(device)
    opt = torch.optim.Adam(clf.parameters(), lr=lr)
    clf.train()
    with torch.random.fork_rng(devices=[]):  # dropout's randomness: seeded, the caller's left alone
        torch.manual_seed(seed + 1)
        for step in range(steps):
            x, y = batches(step)
            loss = F.cross_entropy(clf(x), y, weight=weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return clf.eval()


def score(clf: nn.Module, test: ImageData, minority: int) -> dict:
    """On the (balanced) test split: the minority class's recall and precision, the balanced
    accuracy (mean recall over classes) and the recall of every class."""
    predicted = predict(clf, test.images).argmax(1)
    num_classes = len(test.classes)
    recalls = [(predicted[test.labels == c] == c).float().mean().item() for c in range(num_classes)]
    called = predicted == minority
    precision = (test.labels[called] == minority).float().mean().item() if called.any() else math.nan
    return {"minority_recall": recalls[minority], "minority_precision": precision,
            "balanced_accuracy": sum(recalls) / num_classes, "recalls": recalls}


GAN_MODELS = ("cgan", "acgan", "bagan")
GAN_NAMES = {"cgan": "cGAN", "acgan": "AC-GAN", "bagan": "BAGAN"}
# Generator steps per model, about 1.2 minutes each on 2 CPU cores (BAGAN's include its 1,000
# autoencoder steps, which are cheaper); fixed steps, not minutes, so the table repeats on any machine
GAN_STEPS = {"quick": {"cgan": 10, "acgan": 10, "bagan": 10},
             "cpu": {"cgan": 1600, "acgan": 1900, "bagan": 2500}}


def train_generators(data: ImageData, minority: int, keep: float, profile: str = "cpu", *,
                     models=GAN_MODELS, steps: dict | None = None, seed: int = 0, device="cpu", run_root=None,
                     resume: bool = True, progress: bool = True) -> dict:
    """Train each conditional GAN of ``models`` on ``data`` cut to ``keep`` of class ``minority``
    (the profile's recipe, GAN_STEPS steps on quick and cpu, or ``steps[model]`` when given, BAGAN's
    including its autoencoder steps). With ``run_root``, each run is written
    in ``run_root/<model>_keep<keep>``, and resumed from there if ``resume``. Returns
    {model: (G, history, seconds)}, seconds this call spent training it."""
    import time
    from pathlib import Path

    from gancourse.config import make_config
    from gancourse.models import build_models
    from gancourse.train import train_gan

    generators = {}
    for model in models:
        n = (steps or {}).get(model) or GAN_STEPS.get(profile, {}).get(model)
        cfg = make_config(model, profile, dataset=data.name, minority=minority, keep=keep, seed=seed,
                          **(dict(num_steps=n, minutes=None) if n else {}))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            G, D = build_models(model, latent_dim=cfg.latent_dim, **cfg.model_kwargs)
        G, D = G.to(device), D.to(device)
        run_dir = None if run_root is None else Path(run_root) / f"{model}_keep{keep:g}"
        start = time.perf_counter()
        history = train_gan(G, D, data, cfg, run_dir=run_dir, resume=resume, progress=progress)
        generators[model] = (G.eval(), history, time.perf_counter() - start)
    return generators


def sample_quality(judge: nn.Module, images: Tensor, real: Tensor, minority: int) -> dict:
    """How like the real minority images ``images`` are (classifier FID, lower is better), how varied
    (within-class spread: the features' total variance over the real ones'; 1 is as varied as the
    data) and how often the judge calls them the minority class ("judged")."""
    from gancourse.metrics import class_spread, fid

    fake_labels, real_labels = torch.zeros(len(images), dtype=torch.long), torch.zeros(len(real), dtype=torch.long)
    return {"fid": fid(judge, real, images),
            "spread": class_spread(judge, images, fake_labels, real, real_labels, num_classes=1)["mean"],
            "judged": (predict(judge, images).argmax(1) == minority).float().mean().item(), "n": len(images)}


def compare_remedies(data: ImageData, test: ImageData, minority: int, *, generators: dict | None = None,
                     remedies=PLAIN_REMEDIES, seeds=(0, 1, 2), steps: int = 300, device="cpu",
                     progress: bool = True) -> list[dict]:
    """Train one classifier per remedy and seed on ``data`` (already imbalanced) for ``steps`` steps
    and score it on ``test``. ``generators`` ({name: G, or name: (G, real_share)}) adds one remedy
    per entry: its minority images added to the data (:func:`remedy_data`). One row per (remedy,
    seed): minority recall and precision (NaN when it never names the minority), balanced accuracy,
    training images, seconds (making the data, training and scoring)."""
    import time

    from gancourse.run import progress_bar

    jobs = [(r, (None, 0.0)) for r in remedies] + [(name, G if isinstance(G, tuple) else (G, 0.0))
                                                  for name, G in (generators or {}).items()]
    rows = []
    bar = progress_bar(total=len(jobs) * len(seeds), desc="classifiers", disable=not progress)
    for remedy, (G, real_share) in jobs:
        for seed in seeds:
            start = time.perf_counter()
            images, labels, weights = remedy_data(remedy, data, minority, seed, generator=G, real_share=real_share)
            clf = train_classifier(images, labels, steps, weights=weights, seed=seed, device=device)
            result = score(clf, test, minority)
            rows.append({"remedy": remedy, "seed": seed, "minority_recall": result["minority_recall"],
                         "minority_precision": result["minority_precision"],
                         "balanced_accuracy": result["balanced_accuracy"], "images": len(images),
                         "seconds": time.perf_counter() - start})
            bar.update()
    bar.close()
    return rows


def summarize(rows: list[dict], keys=("minority_recall", "minority_precision", "balanced_accuracy", "seconds")) -> list[dict]:
    """Mean and standard deviation (over seeds) of ``keys`` per remedy (and keep fraction, if the
    rows carry one), in the rows' order; a NaN (a precision where the minority was never named) is
    left out, and a key that is NaN on every seed stays NaN."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row.get("keep"), row["remedy"]), []).append(row)
    table = []
    for (keep, remedy), group in groups.items():
        entry = {"keep": keep, "remedy": remedy, "seeds": len(group)}
        for key in keys:
            values = torch.tensor([float(r.get(key, math.nan)) for r in group], dtype=torch.float64)
            values = values[~values.isnan()]
            entry[key] = values.mean().item() if len(values) else math.nan
            entry[key + "_std"] = values.std().item() if len(values) > 1 else 0.0
        table.append(entry)
    return table


def format_table(table: list[dict]) -> str:
    """The summary as aligned text: remedy, minority recall, its precision and the balanced accuracy
    (mean +- std), and the seconds per classifier."""
    has_keep = any(e["keep"] is not None for e in table)
    lines = [("keep   " if has_keep else "") + f"{'remedy':<22} {'minority recall':>17} {'its precision':>17} "
             f"{'balanced accuracy':>19} {'seconds':>8}"]
    for e in table:
        keep = f"{e['keep']:<6.1%} " if has_keep else ""
        cells = []
        for key in ("minority_recall", "minority_precision", "balanced_accuracy"):
            mean, std = e.get(key, math.nan), e.get(key + "_std", 0.0)
            cells.append(f"{'n/a':>17}" if math.isnan(mean) else f"{mean:>8.1%} ± {std:<6.1%}")
        seconds = e.get("seconds", math.nan)
        lines.append(f"{keep}{e['remedy']:<22} {cells[0]} {cells[1]} {cells[2]:>19} "
                     + ("" if math.isnan(seconds) else f"{seconds:>8.0f}"))
    return "\n".join(lines)
