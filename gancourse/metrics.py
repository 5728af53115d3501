"""Measuring generated samples.

- Parzen-window log-likelihood in pixel space, with the GAN paper's protocol (``parzen_protocol``);
- FID and KID in the features of the domain classifier (``fid``, ``kid``), or of Inception when its
  weights are on disk (``inception_fid``); ``features`` once, then ``frechet_distance`` on subsets;
- classifier ``accuracy`` on requested labels and class ``coverage`` (mode collapse);
- ``class_spread``: how varied each requested class is against the real class (intra-class collapse);
- ``nearest_neighbours`` in the training set (memorisation);
- ``mode_coverage`` of a 2-D toy mixture: modes captured, high-quality samples, reverse KL.
"""
from __future__ import annotations

import importlib.util
import math
import os
import sys
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from gancourse.classifier import predict

PARZEN_SIGMAS = torch.logspace(-1, 0, 10)  # the GAN paper's grid for the kernel width


def squared_distances(x: Tensor, y: Tensor) -> Tensor:
    """(len(x), len(y)) squared Euclidean distances of flattened rows, via one matrix product."""
    x, y = x.flatten(1).float(), y.flatten(1).float()
    d2 = (x * x).sum(1, keepdim=True) - 2 * x @ y.T + (y * y).sum(1)
    return d2.clamp_(min=0)  # rounding can make a zero distance slightly negative


def parzen_log_likelihood(samples: Tensor, x: Tensor, sigmas, batch_size: int | None = None) -> Tensor:
    """Log-likelihood (nats) of each row of ``x`` under a Gaussian Parzen window on ``samples``.

    log p(x) = logsumexp_i(-|x - s_i|^2 / (2 sigma^2)) - log N - d/2 log(2 pi sigma^2), for each
    sigma in ``sigmas``: returns (len(x), len(sigmas)). The distances are computed once per batch
    of ``x`` and reused for every sigma; batches are sized so that one batch's distances take
    about 64 MB whatever the number of samples.
    """
    sigmas = torch.as_tensor(sigmas, dtype=torch.float64).reshape(-1)
    n, d = len(samples), samples[0].numel()
    if x[0].numel() != d:
        raise ValueError(f"samples have {d} values each but the evaluated points have {x[0].numel()}")
    batch_size = batch_size or max(1, min(500, 8_000_000 // n))
    const = -math.log(n) - d / 2 * torch.log(2 * math.pi * sigmas ** 2)
    out = []
    for i in range(0, len(x), batch_size):
        d2 = squared_distances(x[i:i + batch_size], samples).double()  # (B, N)
        lse = torch.stack([torch.logsumexp(-d2 / (2 * s ** 2), dim=1) for s in sigmas], 1)  # (B, S)
        out.append(lse + const)
    return torch.cat(out)


def parzen(samples: Tensor, test: Tensor, validation: Tensor, sigmas=PARZEN_SIGMAS) -> dict:
    """The GAN paper's Parzen estimate: sigma chosen by mean log-likelihood on ``validation``, then
    mean and standard error of the log-likelihood over ``test``. All images in [0, 1]."""
    for name, images in (("samples", samples), ("test", test), ("validation", validation)):
        if images.min() < 0 or images.max() > 1:
            raise ValueError(f"Parzen windows here take {name} with pixels in [0, 1], got "
                             f"[{images.min():.2f}, {images.max():.2f}]; map [-1, 1] with (x + 1) / 2")
    scores = parzen_log_likelihood(samples, validation, sigmas).mean(0)
    sigma = float(torch.as_tensor(sigmas).reshape(-1)[scores.argmax()])
    ll = parzen_log_likelihood(samples, test, [sigma])[:, 0]
    return {"ll": ll.mean().item(), "se": (ll.std() / math.sqrt(len(ll))).item(), "sigma": sigma,
            "validation_ll": dict(zip(torch.as_tensor(sigmas).reshape(-1).tolist(), scores.tolist()))}


def parzen_protocol(samples: Tensor, dataset: str = "mnist", root=None) -> dict:
    """Parzen log-likelihood exactly as in the GAN paper: ``samples`` (10,000 in [-1, 1]), sigma from
    ``PARZEN_SIGMAS`` on the first 1,000 images of train[50000:60000], mean +- standard error over
    the test set."""
    from gancourse.data import load_dataset

    train, test = load_dataset(dataset, "train", root), load_dataset(dataset, "test", root)
    if len(train.images) >= 51000:
        validation = train.images[50000:51000]
    else:
        validation = train.images[-1000:]
        print(f"warning: {dataset} is the shipped sample ({len(train.images)} training images), not the "
              "full set: sigma is chosen on its last 1,000 training images and the test set is "
              f"{len(test.images)} images, so the numbers are not comparable with the paper's",
              file=sys.stderr)
    if len(samples) != 10000:
        print(f"note: the paper uses 10,000 samples; these are {len(samples)}", file=sys.stderr)
    unit = lambda images: (images.flatten(1) + 1) / 2  # noqa: E731  [-1, 1] -> [0, 1]
    return parzen(unit(samples).clamp(0, 1), unit(test.images), unit(validation))


@torch.no_grad()
def random_subset(n_items: int, n: int, seed: int = 0) -> Tensor:
    """Indices of a seeded random draw of ``n`` of ``n_items`` (all of them when ``n`` exceeds it).

    FID references are drawn this way, never as the first images: MNIST's test split is ordered by
    writer group, so its first images are not a fair sample of it.
    """
    return torch.randperm(n_items, generator=torch.Generator().manual_seed(seed))[:n]


def nearest_neighbours(queries: Tensor, reference: Tensor, batch_size: int = 500) -> tuple[Tensor, Tensor]:
    """For each query image, the pixel-space L2 distance to its nearest ``reference`` image and
    that image's index."""
    dist, idx = [], []
    for i in range(0, len(queries), batch_size):
        d2, j = squared_distances(queries[i:i + batch_size], reference).min(1)
        dist.append(d2.sqrt()), idx.append(j)
    return torch.cat(dist), torch.cat(idx)


class _Features(nn.Module):
    """Adapter: torchmetrics calls ``feature(images)`` and reads ``num_features``."""

    def __init__(self, clf: nn.Module) -> None:
        super().__init__()
        self.clf, self.num_features = clf.eval(), clf.num_features

    def forward(self, x: Tensor) -> Tensor:
        return self.clf.features(x.float()).double()  # torchmetrics accumulates in float64


def _check(images: Tensor, name: str) -> None:
    if images.dim() != 4 or images.shape[1:] != (1, 28, 28):
        raise ValueError(f"expected {name} of shape (N, 1, 28, 28) in [-1, 1], got {tuple(images.shape)}")


@torch.no_grad()
def features(clf: nn.Module, images: Tensor, batch_size: int = 1000) -> Tensor:
    """The classifier's features (N, num_features) of images in [-1, 1], in float64 on the CPU."""
    _check(images, "images")
    clf.eval()
    device = next(clf.parameters()).device
    return torch.cat([clf.features(images[i:i + batch_size].to(device)).double().cpu()
                      for i in range(0, len(images), batch_size)])


def frechet_distance(real_features: Tensor, fake_features: Tensor) -> float:
    """FID from features (N, d) computed once (``features``): the Fréchet distance between the two
    sets' Gaussians (mean, unbiased covariance). Cheap to repeat on many subsets."""
    for name, f in (("real_features", real_features), ("fake_features", fake_features)):
        if f.dim() != 2 or len(f) < 2:
            raise ValueError(f"expected {name} of shape (N, d) with N >= 2, got {tuple(f.shape)}")
    a, b = real_features.double(), fake_features.double()
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    # tr sqrt(Ca Cb) = tr sqrt(Ca^1/2 Cb Ca^1/2): a symmetric matrix, so eigh is exact and stable
    values, vectors = torch.linalg.eigh(cov_a)
    root_a = vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T
    middle = root_a @ cov_b @ root_a
    trace_root = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root)


LAPLACIAN = ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))  # the 3x3 discrete Laplacian


def laplacian_variance(images: Tensor) -> Tensor:
    """Each image's sharpness (N,): the variance (unbiased) over its pixels of the 3x3 Laplacian,
    taken where the kernel fits (no padding). Blur lowers it; noise raises it."""
    if images.dim() != 4 or images.shape[1] != 1 or min(images.shape[2:]) < 3:
        raise ValueError(f"expected images of shape (N, 1, H, W) with H, W >= 3, got {tuple(images.shape)}")
    kernel = torch.tensor(LAPLACIAN, dtype=images.dtype, device=images.device).view(1, 1, 3, 3)
    return F.conv2d(images, kernel).flatten(1).var(dim=1)


@torch.no_grad()
def sharpness(images: Tensor, real: Tensor) -> float:
    """Relative sharpness: the mean Laplacian variance of ``images`` over that of ``real`` images
    (about 1: as sharp as real; well below 1: blurred)."""
    _check(images, "images"), _check(real, "real images")
    return float(laplacian_variance(images.float()).mean() / laplacian_variance(real.float()).mean())


@torch.no_grad()
def fid(clf: nn.Module, real: Tensor, fake: Tensor, batch_size: int = 1000) -> float:
    """Fréchet distance between real and generated images in the classifier's feature space."""
    _check(real, "real images"), _check(fake, "generated images")
    metric = FrechetInceptionDistance(feature=_Features(clf), normalize=True)
    for images, is_real in ((real, True), (fake, False)):
        for i in range(0, len(images), batch_size):
            metric.update(images[i:i + batch_size], real=is_real)
    return metric.compute().item()


@torch.no_grad()
def kid(clf: nn.Module, real: Tensor, fake: Tensor, subset_size: int = 1000) -> tuple[float, float]:
    """Kernel distance (mean, std over subsets) in the classifier's feature space."""
    _check(real, "real images"), _check(fake, "generated images")
    size = min(subset_size, len(real), len(fake))
    with warnings.catch_warnings():  # "will save all extracted features": by design, they are small
        warnings.filterwarnings("ignore", message=".*will save all extracted features")
        metric = KernelInceptionDistance(feature=_Features(clf), subset_size=size, normalize=True)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    mean, std = metric.compute()
    return mean.item(), std.item()


def accuracy(clf: nn.Module, images: Tensor, labels: Tensor) -> float:
    """Share of ``images`` the classifier assigns to the requested ``labels``."""
    _check(images, "images")
    return (predict(clf, images).argmax(1) == labels.cpu()).float().mean().item()


def coverage(clf: nn.Module, images: Tensor, num_classes: int = 10) -> dict:
    """Histogram of predicted classes and its entropy in nats (log 10 = 2.303 is all classes equally)."""
    _check(images, "images")
    counts = torch.bincount(predict(clf, images).argmax(1), minlength=num_classes)
    p = counts.double() / counts.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum().item()
    return {"counts": counts.tolist(), "entropy": entropy, "max_entropy": math.log(num_classes)}


@torch.no_grad()
def class_spread(clf: nn.Module, images: Tensor, labels: Tensor, real: Tensor, real_labels: Tensor,
                 num_classes: int = 10) -> dict:
    """Per class: the total variance of the generated images' classifier features over that of
    the real images of the same class.

    About 1: as varied as the data; near 0: one image per class (intra-class mode collapse,
    which accuracy and coverage do not see). Classes with fewer than 2 images on either side are
    left out (NaN in ``per_class``). Returns {"per_class": [...], "mean": float, "classes": [...]}.
    """
    _check(images, "images"), _check(real, "real images")
    for name, x, y in (("images", images, labels), ("real images", real, real_labels)):
        if y.shape != (len(x),):
            raise ValueError(f"expected one label per {name[:-1]}: {len(x)}, got shape {tuple(y.shape)}")
    fake_counts = torch.bincount(labels.cpu(), minlength=num_classes)
    real_counts = torch.bincount(real_labels.cpu(), minlength=num_classes)
    classes = [c for c in range(num_classes) if fake_counts[c] >= 2 and real_counts[c] >= 2]
    if not classes:
        raise ValueError("class_spread needs at least 2 generated and 2 real images of some class")
    fake_f, real_f = features(clf, images), features(clf, real)
    ratios = {c: (fake_f[labels.cpu() == c].var(0).sum() / real_f[real_labels.cpu() == c].var(0).sum()).item()
              for c in classes}
    return {"per_class": [ratios.get(c, float("nan")) for c in range(num_classes)],
            "mean": sum(ratios.values()) / len(ratios), "classes": classes}


@dataclass(frozen=True)
class ModeCoverage:
    """What :func:`mode_coverage` measured; ``counts`` holds the high-quality samples per mode."""

    modes: int  # modes captured: nearest mode of at least one high-quality sample
    high_quality: float  # share of samples within 3 std of their nearest mode
    kl: float  # KL(captured-mode histogram || uniform) in nats; inf when no sample is high quality
    counts: tuple[int, ...]
    total_modes: int


HIGH_QUALITY_STDS = 3.0  # VEEGAN's and PacGAN's threshold, in standard deviations of a mode


def mode_coverage(points, dataset) -> ModeCoverage:
    """Mode collapse on a 2-D toy mixture, by the VEEGAN / PacGAN protocol (2,500 samples there).

    A sample is high quality if its Euclidean distance to its nearest mode centre is at most 3 std
    of the mixture's Gaussians (a real sample is, with probability 1 - exp(-4.5) = 0.989); a mode
    is captured if it is the nearest mode of at least one high-quality sample. ``kl`` compares the
    histogram p of the high-quality samples over the modes with the uniform one: sum p log(p K)
    over the modes with p > 0, from 0 (all K modes equally often) to log K (one mode). With no
    high-quality sample p does not exist: ``kl`` is then ``inf``, beyond every real collapse.
    ``dataset`` is a name of :data:`gancourse.toy.TOY_DATASETS` or an object with ``centers()``
    and ``std``; ``points`` is a tensor or array of shape (N, 2).
    """
    from gancourse.toy import toy_dataset

    mixture = toy_dataset(dataset) if isinstance(dataset, str) else dataset
    if not (hasattr(mixture, "centers") and hasattr(mixture, "std")):
        raise ValueError(f"expected a toy dataset name or an object with centers() and std, "
                         f"got {type(dataset).__name__}")
    x = torch.as_tensor(points).detach().cpu().double()
    if x.dim() != 2 or x.shape[1] != 2 or len(x) == 0:
        raise ValueError(f"expected points of shape (N, 2) with N >= 1, got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{(~torch.isfinite(x)).any(1).sum().item()} of {len(x)} points are NaN or "
                         f"infinite; a diverged generator has no mode coverage")
    centers = mixture.centers().double()  # (K, 2)
    distance, nearest = torch.cdist(x, centers).min(1)  # (N,)
    good = distance <= HIGH_QUALITY_STDS * mixture.std
    counts = torch.bincount(nearest[good], minlength=len(centers))
    if good.any():
        p = counts[counts > 0].double() / good.sum()
        kl = (p * (p * len(centers)).log()).sum().item()
    else:
        kl = math.inf
    return ModeCoverage(modes=int((counts > 0).sum()), high_quality=good.double().mean().item(), kl=kl,
                        counts=tuple(counts.tolist()), total_modes=len(centers))


INCEPTION_WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"  # torch-fidelity's FID Inception


def inception_fid(real: Tensor, fake: Tensor, weights: str | os.PathLike | None = None,
                  batch_size: int = 100) -> float:
    """The standard FID (Inception-v3 pool features), when the weights are on disk.

    ``weights`` or the environment variable GANCOURSE_INCEPTION_WEIGHTS names the file
    ``pt_inception-2015-12-05-6726825d.pth``; it needs the ``torch-fidelity`` package.
    Images (N, C, H, W) in [-1, 1]; grayscale is repeated to RGB and resized to 299 by torchmetrics.
    """
    weights = weights or os.environ.get("GANCOURSE_INCEPTION_WEIGHTS")
    if not weights or not os.path.isfile(weights):
        raise FileNotFoundError(
            f"the Inception weights file {INCEPTION_WEIGHTS} was not found"
            + (f" at {weights}" if weights else "")
            + "; download it once where you are online (github.com/toshas/torch-fidelity releases) and "
            "pass its path or set GANCOURSE_INCEPTION_WEIGHTS. Offline, use metrics.fid (classifier features).")
    if importlib.util.find_spec("torch_fidelity") is None:
        raise ImportError("the standard FID needs torch-fidelity: pip install 'gancourse[inception]'")
    metric = FrechetInceptionDistance(feature=2048, normalize=True,
                                      feature_extractor_weights_path=str(weights))
    for images, is_real in ((real, True), (fake, False)):
        for i in range(0, len(images), batch_size):
            batch = (images[i:i + batch_size].float() + 1) / 2
            metric.update(batch.expand(-1, 3, -1, -1) if batch.shape[1] == 1 else batch, real=is_real)
    return metric.compute().item()


def evaluate(images: Tensor, dataset: str = "mnist", labels: Tensor | None = None, *,
             clf: nn.Module | None = None, profile: str = "cpu", root=None,
             n_real: int | None = None) -> dict:
    """Every metric of lecture 5 for ``images`` (N, 1, 28, 28) in [-1, 1], with each one's runtime.

    Parzen with the paper's protocol; FID and KID against the whole test split in the domain
    classifier's features (or ``n_real`` of them, a seeded random draw); coverage entropy; and, when ``labels``
    are given, accuracy on them and the within-class spread. Returns a flat dict (keys parzen_ll,
    parzen_se, parzen_sigma, fid, kid, kid_std, coverage_entropy, accuracy, class_spread,
    n_samples, seconds).
    """
    import time

    from gancourse.classifier import load_classifier
    from gancourse.data import load_dataset

    _check(images, "images")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"expected {len(images)} labels, one per image, got {len(labels)}")
    clf = clf if clf is not None else load_classifier(dataset, profile, root=root)
    test = load_dataset(dataset, "test", root)
    pick = random_subset(len(test), n_real)
    real, real_labels = test.images[pick], test.labels[pick]
    result, seconds = {"n_samples": len(images)}, {}

    def timed(name, fn):
        start = time.perf_counter()
        value = fn()
        seconds[name] = round(time.perf_counter() - start, 2)
        return value

    p = timed("parzen", lambda: parzen_protocol(images, dataset, root))
    result.update(parzen_ll=p["ll"], parzen_se=p["se"], parzen_sigma=p["sigma"])
    result["fid"] = timed("fid", lambda: fid(clf, real, images))
    result["kid"], result["kid_std"] = timed("kid", lambda: kid(clf, real, images))
    result["coverage_entropy"] = timed("coverage", lambda: coverage(clf, images)["entropy"])
    if labels is not None:
        result["accuracy"] = timed("accuracy", lambda: accuracy(clf, images, labels))
        result["class_spread"] = timed("class_spread", lambda: class_spread(
            clf, images, labels, real, real_labels)["mean"])
    result["seconds"] = seconds
    return result
