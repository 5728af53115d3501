"""Self-checks of lecture 5: the Parzen log-likelihood, feature statistics and the Fréchet distance."""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from gancourse.checks._base import Fail, as_number, call, check, close, describe, seeded


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


_PARZEN_MISTAKES = {
    "the kernel sum is not divided by N: subtract log N (a mean over samples, not a sum)": dict(drop_log_n=True),
    "the Gaussian's normalising constant is missing: subtract d/2 log(2 pi sigma^2)": dict(drop_norm=True),
    "the exponent divides by 2 sigma, not 2 sigma^2": dict(sq_sigma=1.0),
    "the exponent divides by sigma^2; the Gaussian has 2 sigma^2": dict(two=1.0),
    "the constant uses log(2 pi sigma); it is d/2 log(2 pi sigma^2)": dict(norm_power=1.0),
    "the distance is not squared: use the squared Euclidean distance": dict(sq_dist=False),
}


@check("Parzen log-likelihood")
def check_parzen_log_likelihood(fn: Callable[[Tensor, Tensor, float], Tensor]) -> None:
    """Check ``fn(samples (N, d), x (M, d), sigma)``: the log-likelihood of each row of x, (M,)."""
    for (n, m, d, sigma, dtype) in ((40, 6, 5, 0.3, torch.float32), (17, 9, 3, 0.7, torch.float64)):
        gen = seeded(n)
        samples, x = torch.rand(n, d, generator=gen, dtype=dtype), torch.rand(m, d, generator=gen, dtype=dtype)
        kept = (samples.clone(), x.clone())
        value = call(fn, samples, x, sigma)
        if not (torch.equal(samples, kept[0]) and torch.equal(x, kept[1])):
            raise Fail("the samples or points were changed in place", "leave the caller's tensors alone")
        if not isinstance(value, Tensor) or tuple(value.shape) != (m,) or not value.is_floating_point():
            raise Fail(f"for {m} points it returned {describe(value)}, expected shape ({m},)",
                       "one log-likelihood per evaluated point: reduce over the samples, not over x")
        s64, x64 = samples.double(), x.double()
        reference = _parzen_reference(s64, x64, sigma)
        if not torch.allclose(value.double(), reference, atol=1e-3):
            hint = next((h for h, flags in _PARZEN_MISTAKES.items()
                         if torch.allclose(value.double(), _parzen_reference(s64, x64, sigma, **flags), atol=1e-3)),
                        "compare with log p(x) = logsumexp(-|x - s|^2 / (2 sigma^2)) - log N - d/2 log(2 pi sigma^2)")
            if torch.allclose(value.double(), reference.flip(0), atol=1e-3):
                hint = "the roles of samples and x are swapped: the kernels sit on the samples, x is evaluated"
            raise Fail(f"got {value[0].item():.3f} for the first point, expected {reference[0].item():.3f}", hint)
    far = call(fn, torch.zeros(20, 784), torch.ones(3, 784), 0.1)
    if not isinstance(far, Tensor) or not torch.isfinite(far).all():
        raise Fail(f"returned {describe(far)} with non-finite values for points far from every sample",
                   "exp(-392 / 0.02) underflows to 0: use torch.logsumexp instead of log(mean(exp(...)))")


@check("feature statistics")
def check_feature_statistics(fn: Callable[[Tensor], tuple[Tensor, Tensor]]) -> None:
    """Check ``fn(features (N, d)) -> (mean (d,), covariance (d, d))``, the unbiased covariance
    (divided by N - 1), rows being samples."""
    for n, d, dtype in ((50, 3, torch.float64), (200, 7, torch.float32), (9, 12, torch.float64)):
        f = torch.randn(n, d, generator=seeded(n), dtype=dtype) * torch.linspace(0.5, 3, d, dtype=dtype) + 2
        kept = f.clone()
        out = call(fn, f)
        if not torch.equal(f, kept):
            raise Fail("the features were changed in place", "centre a copy: f - mean, not f -= mean")
        if not (isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(t, Tensor) for t in out)):
            raise Fail(f"returned {describe(out)}", "return a pair (mean, covariance) of tensors")
        mu, cov = out
        if tuple(mu.shape) != (d,):
            raise Fail(f"for features of shape ({n}, {d}) the mean is {describe(mu)}, expected ({d},)",
                       "average over the samples, dim 0")
        if tuple(cov.shape) != (d, d):
            hint = "rows are samples: the covariance is (d, d), over the columns" if cov.shape == (n, n) else \
                "the covariance of d features is a (d, d) matrix"
            raise Fail(f"for features of shape ({n}, {d}) the covariance is {describe(cov)}, expected ({d}, {d})", hint)
        if mu.dtype != dtype or cov.dtype != dtype:
            raise Fail(f"for {dtype} features it returned {mu.dtype} and {cov.dtype}", "keep the features' dtype")
        ref_mu, centred = f.mean(0), f - f.mean(0)
        tol = dict(rtol=1e-4, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-9, atol=1e-12)
        if not torch.allclose(mu, ref_mu, **tol):
            raise Fail("the mean is off", "the mean of each feature over the samples: features.mean(dim=0)")
        if torch.allclose(cov, ref_cov := centred.T @ centred / (n - 1), **tol):
            continue
        mistakes = {
            "divided by N: the unbiased covariance divides by N - 1 (torch.cov's default)": centred.T @ centred / n,
            "not centred: subtract the mean before the product": f.T @ f / (n - 1),
            "only the variances: the covariance has off-diagonal terms too": torch.diag(ref_cov.diagonal()),
        }
        hint = next((h for h, wrong in mistakes.items() if torch.allclose(cov, wrong, **tol)),
                    "cov = (f - mean).T @ (f - mean) / (N - 1), or torch.cov(f.T)")
        raise Fail(f"the covariance of ({n}, {d}) features is off", hint)


def _trace_sqrt_product(cov1: Tensor, cov2: Tensor) -> Tensor:
    """tr((cov1 cov2)^(1/2)) for symmetric PSD matrices, through the symmetric sqrt(cov1) cov2 sqrt(cov1)."""
    vals, vecs = torch.linalg.eigh(cov1)
    root = vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T
    return torch.linalg.eigvalsh(root @ cov2 @ root).clamp(min=0).sqrt().sum()


def _number(value, what: str) -> float:
    value = as_number(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, complex)):
        raise Fail(f"{what} returned {describe(value)}",
                   "return one number: |mu1 - mu2|^2 + tr(cov1 + cov2 - 2 (cov1 cov2)^(1/2))")
    return complex(value).real


def _gaussians(seed: int, d: int, dtype: torch.dtype) -> tuple[Tensor, ...]:
    gen = seeded(seed)
    a, b = torch.randn(d, d, generator=gen, dtype=dtype), torch.randn(d, d, generator=gen, dtype=dtype)
    eye = torch.eye(d, dtype=dtype)
    return (torch.randn(d, generator=gen, dtype=dtype), a @ a.T + 0.1 * eye,
            torch.randn(d, generator=gen, dtype=dtype), b @ b.T + 0.1 * eye)


@check("Fréchet distance")
def check_frechet_distance(fn: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(mu1, cov1, mu2, cov2)``: the Fréchet distance between two Gaussians."""
    for seed, d, dtype in ((0, 4, torch.float64), (1, 3, torch.float64), (2, 6, torch.float32)):
        mu1, cov1, mu2, cov2 = _gaussians(seed, d, dtype)
        kept = [t.clone() for t in (mu1, cov1, mu2, cov2)]
        value = _number(call(fn, mu1, cov1, mu2, cov2), f"for {d}-dimensional Gaussians it")
        if any(not torch.equal(a, b) for a, b in zip((mu1, cov1, mu2, cov2), kept)):
            raise Fail("an argument was changed in place", "leave the caller's tensors alone")
        mu1, cov1, mu2, cov2 = (t.double() for t in kept)
        mean_term, tr = ((mu1 - mu2) ** 2).sum(), torch.trace(cov1) + torch.trace(cov2)
        cross = _trace_sqrt_product(cov1, cov2)
        reference = (mean_term + tr - 2 * cross).item()
        if close(value, reference, 1e-3):
            continue
        mistakes = {
            "element-wise sqrt of cov1 @ cov2: the square root is a matrix square root "
            "(its trace is the sum of the square roots of cov1 @ cov2's eigenvalues)":
                mean_term + tr - 2 * torch.diagonal(cov1 @ cov2).clamp(min=0).sqrt().sum(),
            "the cross term has no square root: tr(2 (cov1 cov2)^(1/2))": mean_term + tr - 2 * torch.trace(cov1 @ cov2),
            "the cross term needs the factor 2": mean_term + tr - cross,
            "the mean term is the squared distance |mu1 - mu2|^2, not the distance": (mu1 - mu2).norm() + tr - 2 * cross,
            "the mean term |mu1 - mu2|^2 is missing": tr - 2 * cross,
            "the covariance term is missing": mean_term,
            "sqrt(cov1) @ sqrt(cov2) is not (cov1 cov2)^(1/2) unless they commute: take the square root of the product":
                mean_term + tr - 2 * torch.trace(_sqrtm(cov1) @ _sqrtm(cov2)),
        }
        hint = next((h for h, wrong in mistakes.items() if close(value, float(wrong), 1e-3)),
                    "FD = |mu1 - mu2|^2 + tr(cov1) + tr(cov2) - 2 tr((cov1 cov2)^(1/2))")
        raise Fail(f"for {d}-dimensional Gaussians got {value:.4f}, expected {reference:.4f}", hint)
    mu1, cov1, _, _ = _gaussians(3, 5, torch.float64)
    same = _number(call(fn, mu1, cov1, mu1.clone(), cov1.clone()), "for two equal Gaussians it")
    if abs(same) > 1e-3 * max(1.0, torch.trace(cov1).item()):
        raise Fail(f"the distance of a Gaussian to itself is {same:.4g}, not 0",
                   "check the matrix square root on a case you know: cov1 = cov2")


def _sqrtm(cov: Tensor) -> Tensor:
    vals, vecs = torch.linalg.eigh(cov)
    return vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T
