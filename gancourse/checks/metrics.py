"""Self-checks of lecture 5: the Parzen log-likelihood and the Fréchet distance."""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from gancourse.checks._base import _call, _close, _report, _wrong_shape


def _parzen_reference(samples: Tensor, x: Tensor, sigma: float, *, drop_log_n=False, drop_norm=False,
                      sq_sigma=2.0, two=2.0, norm_power=2.0, sq_dist=True) -> Tensor:
    """The Parzen log-likelihood, or one of its typical misreadings (switched by the flags)."""
    d2 = ((x[:, None, :] - samples[None, :, :]) ** 2).sum(-1)  # (M, N), float64
    d2 = d2 if sq_dist else d2.sqrt()
    ll = torch.logsumexp(-d2 / (two * sigma ** sq_sigma), dim=1)
    if not drop_log_n:
        ll = ll - math.log(len(samples))
    if not drop_norm:
        ll = ll - x.shape[1] / 2 * math.log(2 * math.pi * sigma ** norm_power)
    return ll


def check_parzen_log_likelihood(fn: Callable[[Tensor, Tensor, float], Tensor]) -> bool:
    """Check ``fn(samples (N, d), x (M, d), sigma)``: the log-likelihood of each row of x, (M,)."""
    name = "Parzen log-likelihood"
    gen = torch.Generator().manual_seed(0)
    samples, x, sigma = torch.rand(40, 5, generator=gen), torch.rand(6, 5, generator=gen), 0.3
    value, failed = _call(name, fn, samples.clone(), x.clone(), sigma)
    if failed is not None:
        return failed
    hint = "one log-likelihood per evaluated point: reduce over the samples, not over x"
    if (failed := _wrong_shape(name, value, (len(x),), hint)) is not None:
        return failed
    s64, x64 = samples.double(), x.double()
    reference = _parzen_reference(s64, x64, sigma)
    if not torch.allclose(value.double(), reference, atol=1e-3):
        mistakes = {
            "the kernel sum is not divided by N: subtract log N (a mean over samples, not a sum)":
                dict(drop_log_n=True),
            "the Gaussian's normalising constant is missing: subtract d/2 log(2 pi sigma^2)":
                dict(drop_norm=True),
            "the exponent divides by 2 sigma, not 2 sigma^2": dict(sq_sigma=1.0),
            "the exponent divides by sigma^2; the Gaussian has 2 sigma^2": dict(two=1.0),
            "the constant uses log(2 pi sigma); it is d/2 log(2 pi sigma^2)": dict(norm_power=1.0),
            "the distance is not squared: use the squared Euclidean distance": dict(sq_dist=False),
        }
        hint = next((h for h, flags in mistakes.items()
                     if torch.allclose(value.double(), _parzen_reference(s64, x64, sigma, **flags), atol=1e-3)),
                    "compare with log p(x) = logsumexp(-|x - s|^2 / (2 sigma^2)) - log N - d/2 log(2 pi sigma^2)")
        return _report(name, f"got {value[0].item():.3f} for the first point, expected {reference[0].item():.3f}",
                       hint)
    far, failed = _call(name, fn, torch.zeros(20, 784), torch.ones(3, 784), 0.1)
    if failed is not None:
        return failed
    if not torch.isfinite(far).all():
        return _report(name, f"returned {far[0].item()} for points far from every sample (784 pixels, sigma 0.1)",
                       "exp(-392 / 0.02) underflows to 0: use torch.logsumexp instead of log(mean(exp(...)))")
    return _report(name)


def _trace_sqrt_product(cov1: Tensor, cov2: Tensor) -> Tensor:
    """tr((cov1 cov2)^(1/2)) for symmetric PSD matrices, through the symmetric sqrt(cov1) cov2 sqrt(cov1)."""
    vals, vecs = torch.linalg.eigh(cov1)
    root = vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T
    return torch.linalg.eigvalsh(root @ cov2 @ root).clamp(min=0).sqrt().sum()


def check_frechet_distance(fn: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(mu1, cov1, mu2, cov2)``: the Fréchet distance between two Gaussians."""
    name = "Fréchet distance"
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(4, 4, generator=gen, dtype=torch.float64), torch.randn(4, 4, generator=gen, dtype=torch.float64)
    cov1, cov2 = a @ a.T + 0.1 * torch.eye(4, dtype=torch.float64), b @ b.T + 0.1 * torch.eye(4, dtype=torch.float64)
    mu1, mu2 = torch.tensor([0.0, 1.0, -1.0, 0.5], dtype=torch.float64), torch.tensor([1.0, 0.0, 0.0, 2.0], dtype=torch.float64)
    value, failed = _call(name, fn, mu1.clone(), cov1.clone(), mu2.clone(), cov2.clone())
    if failed is not None:
        return failed
    if not isinstance(value, (Tensor, float)) or (isinstance(value, Tensor) and value.numel() != 1):
        return _report(name, f"returned {type(value).__name__} {tuple(getattr(value, 'shape', ()))}",
                       "return one number: |mu1 - mu2|^2 + tr(cov1 + cov2 - 2 (cov1 cov2)^(1/2))")
    value = complex(value.item() if isinstance(value, Tensor) else value).real
    mean_term, tr = ((mu1 - mu2) ** 2).sum(), torch.trace(cov1) + torch.trace(cov2)
    cross = _trace_sqrt_product(cov1, cov2)
    reference = (mean_term + tr - 2 * cross).item()
    if not _close(value, reference, 1e-3):
        mistakes = {
            "element-wise sqrt of cov1 @ cov2: the square root is a matrix square root "
            "(its trace is the sum of the square roots of cov1 @ cov2's eigenvalues)":
                mean_term + tr - 2 * torch.diagonal(cov1 @ cov2).clamp(min=0).sqrt().sum(),
            "the cross term has no square root: tr(2 (cov1 cov2)^(1/2))": mean_term + tr - 2 * torch.trace(cov1 @ cov2),
            "the cross term needs the factor 2": mean_term + tr - cross,
            "the mean term is the squared distance |mu1 - mu2|^2, not the distance":
                (mu1 - mu2).norm() + tr - 2 * cross,
            "the mean term |mu1 - mu2|^2 is missing": tr - 2 * cross,
            "the covariance term is missing": mean_term,
        }
        hint = next((h for h, wrong in mistakes.items() if _close(value, float(wrong), 1e-3)),
                    "FD = |mu1 - mu2|^2 + tr(cov1) + tr(cov2) - 2 tr((cov1 cov2)^(1/2))")
        return _report(name, f"got {value:.4f}, expected {reference:.4f}", hint)
    same, failed = _call(name, fn, mu1.clone(), cov1.clone(), mu1.clone(), cov1.clone())
    if failed is not None:
        return failed
    same = complex(same.item() if isinstance(same, Tensor) else same).real
    if abs(same) > 1e-3 * reference:
        return _report(name, f"the distance of a Gaussian to itself is {same:.4g}, not 0",
                       "check the matrix square root on a case you know: cov1 = cov2")
    return _report(name)
