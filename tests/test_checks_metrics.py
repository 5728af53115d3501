"""Lecture 5's self-checks: Parzen log-likelihood, feature statistics, Fréchet distance."""
import math

import numpy as np
import pytest
import torch

from gancourse import checks
from tests.check_answers import Wrong, assert_passes, assert_rejects, not_done


# --- Parzen log-likelihood ---------------------------------------------------------------------
def parzen(samples, x, sigma, *, mean=True, const=True, sig2=True, two=True, norm_sq=True,
           squared=True, stable=True, reduce=False, swap=False):
    """A student's Parzen log-likelihood; each flag set away from its default is one typical mistake."""
    if swap:
        samples, x = x, samples
    d2 = torch.cdist(x.double(), samples.double()) ** (2 if squared else 1)
    z = -d2 / ((2 if two else 1) * sigma ** (2 if sig2 else 1))
    if stable:
        ll = torch.logsumexp(z, 1) - (math.log(len(samples)) if mean else 0)
    else:
        ll = torch.log(torch.exp(z).mean(1) if mean else torch.exp(z).sum(1))
    if const:
        ll = ll - x.shape[1] / 2 * math.log(2 * math.pi * sigma ** (2 if norm_sq else 1))
    return ll.mean() if reduce else ll


def parzen_by_hand(samples, x, sigma):
    """A correct answer by broadcasting, in the inputs' own dtype."""
    d2 = ((x[:, None, :] - samples[None]) ** 2).sum(-1)
    return torch.logsumexp(-d2 / (2 * sigma ** 2), 1) - math.log(len(samples)) - x.shape[1] * math.log(
        math.sqrt(2 * math.pi) * sigma)


PARZEN_WRONG = {
    "sum, not mean": Wrong(lambda s, x, sg: parzen(s, x, sg, mean=False), "subtract log N", "value"),
    "no constant": Wrong(lambda s, x, sg: parzen(s, x, sg, const=False), "normalising constant is missing", "value"),
    "sigma not squared": Wrong(lambda s, x, sg: parzen(s, x, sg, sig2=False), "divides by 2 sigma, not 2 sigma^2", "value"),
    "no 2 in the exponent": Wrong(lambda s, x, sg: parzen(s, x, sg, two=False), "the Gaussian has 2 sigma^2", "value"),
    "log(2 pi sigma)": Wrong(lambda s, x, sg: parzen(s, x, sg, norm_sq=False), "log(2 pi sigma)", "value"),
    "distance not squared": Wrong(lambda s, x, sg: parzen(s, x, sg, squared=False), "not squared", "value"),
    "sigma hard-coded": Wrong(lambda s, x, sg: parzen(s, x, 0.3), "expected", "value"),
    "constant with N of the points": Wrong(lambda s, x, sg: parzen(s, x, sg) + math.log(len(s)) - math.log(len(x)), "expected", "shapes"),
    "roles swapped": Wrong(lambda s, x, sg: parzen(s, x, sg, swap=True), "expected shape", "independent"),
    "naive log(mean(exp))": Wrong(lambda s, x, sg: parzen(s, x, sg, stable=False), "torch.logsumexp", "extreme"),
    "naive sum of exp": Wrong(lambda s, x, sg: parzen(s, x, sg, stable=False, mean=False) - math.log(len(s)), "torch.logsumexp", "extreme"),
    "x used as samples too": Wrong(lambda s, x, sg: parzen(x, x, sg), "expected", "independent"),
    "samples sorted in place": Wrong(lambda s, x, sg: parzen(s.sort(0)[0].clone() * 0 + s.sub_(0).add_(1e-3), x, sg), "changed in place",
                                     "state"),
    "averaged over x": Wrong(lambda s, x, sg: parzen(s, x, sg, reduce=True), "expected shape (6,)", "shapes"),
    "in place": Wrong(lambda s, x, sg: parzen(s, x.sub_(0), sg) if x.mul_(1.0).add_(0.0).add_(1e-3) is not None else None,
                      "changed in place", "state"),
    "a list": Wrong(lambda s, x, sg: parzen(s, x, sg).tolist(), "expected shape", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
PARZEN_RIGHT = {"cdist": parzen, "broadcasting": parzen_by_hand,
                "float32 throughout": lambda s, x, sg: parzen_by_hand(s.float(), x.float(), sg)}


@pytest.mark.parametrize("case", list(PARZEN_RIGHT))
def test_parzen_accepts(case, capsys):
    assert_passes(checks.check_parzen_log_likelihood, PARZEN_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(PARZEN_WRONG))
def test_parzen_rejects(case, capsys):
    assert_rejects(checks.check_parzen_log_likelihood, PARZEN_WRONG[case], capsys)


# --- feature statistics --------------------------------------------------------------------------
def stats(f):
    mu = f.mean(0)
    return mu, (f - mu).T @ (f - mu) / (len(f) - 1)


STATS_WRONG = {
    "biased": Wrong(lambda f: (f.mean(0), (f - f.mean(0)).T @ (f - f.mean(0)) / len(f)), "divides by N - 1", "value"),
    "not centred": Wrong(lambda f: (f.mean(0), f.T @ f / (len(f) - 1)), "not centred", "value"),
    "variances only": Wrong(lambda f: (f.mean(0), torch.diag(f.var(0))), "off-diagonal", "value"),
    "samples as columns": Wrong(lambda f: (f.mean(0), torch.cov(f)), "rows are samples", "shapes"),
    "mean over features": Wrong(lambda f: (f.mean(1), torch.cov(f.T)), "average over the samples", "shapes"),
    "float32 always": Wrong(lambda f: tuple(t.float() for t in stats(f)), "keep the features' dtype", "device"),
    "centred in place": Wrong(lambda f: (f.mean(0).clone(), (f.sub_(f.mean(0))).T @ f / (len(f) - 1)), "changed in place", "state"),
    "mean of a float32 copy": Wrong(lambda f: (f.float().mean(0), torch.cov(f.T)), "keep the features' dtype", "device"),
    "standardised in place": Wrong(lambda f: stats(f.div_(f.std(0))), "changed in place", "state"),
    "numpy": Wrong(lambda f: (f.mean(0).numpy(), np.cov(f.numpy(), rowvar=False)), "return a pair", "crash"),
    "a dict": Wrong(lambda f: {"mean": f.mean(0), "cov": torch.cov(f.T)}, "return a pair", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
STATS_RIGHT = {"by hand": stats, "torch.cov": lambda f: (f.mean(0), torch.cov(f.T)),
               "einsum": lambda f: (f.mean(0), torch.einsum("ni,nj->ij", f - f.mean(0), f - f.mean(0)) / (f.shape[0] - 1)),
               "a list": lambda f: list(stats(f))}


@pytest.mark.parametrize("case", list(STATS_RIGHT))
def test_feature_statistics_accepts(case, capsys):
    assert_passes(checks.check_feature_statistics, STATS_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(STATS_WRONG))
def test_feature_statistics_rejects(case, capsys):
    assert_rejects(checks.check_feature_statistics, STATS_WRONG[case], capsys)


# --- Fréchet distance of two Gaussians ---------------------------------------------------------
def frechet(mu1, cov1, mu2, cov2, *, root="matrix", two=True, mean="squared", cov=True):
    """A student's Fréchet distance; each keyword away from its default is one typical mistake."""
    product = cov1 @ cov2
    cross = {"matrix": torch.linalg.eigvals(product).sqrt().real.sum(),
             "elementwise": torch.trace(product.sqrt()),  # torch.sqrt is not a matrix square root
             "none": torch.trace(product),
             "product of roots": torch.trace(sqrtm(cov1) @ sqrtm(cov2))}[root]
    mean_term = {"squared": ((mu1 - mu2) ** 2).sum(), "norm": (mu1 - mu2).norm(), "none": 0}[mean]
    cov_term = torch.trace(cov1) + torch.trace(cov2) - (2 if two else 1) * cross
    return mean_term + (cov_term if cov else 0)


def sqrtm(c):
    vals, vecs = torch.linalg.eigh(c)
    return vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T


def scipy_style(mu1, cov1, mu2, cov2):
    """The textbook form with a matrix square root by eigendecomposition of the product."""
    vals, vecs = torch.linalg.eig(cov1 @ cov2)
    sqrt = (vecs @ torch.diag(vals.sqrt()) @ torch.linalg.inv(vecs)).real
    return (((mu1 - mu2) ** 2).sum() + torch.trace(cov1 + cov2 - 2 * sqrt)).item()


def numpy_style(mu1, cov1, mu2, cov2):
    """With NumPy, returning a NumPy float."""
    a, b = cov1.double().numpy(), cov2.double().numpy()
    eig = np.linalg.eigvals(a @ b)
    return np.sum((mu1.double().numpy() - mu2.double().numpy()) ** 2) + np.trace(a) + np.trace(b) - 2 * np.sqrt(eig + 0j).real.sum()


FRECHET_WRONG = {
    "element-wise sqrt": Wrong(lambda *a: frechet(*a, root="elementwise"), "element-wise sqrt", "value"),
    "no square root": Wrong(lambda *a: frechet(*a, root="none"), "has no square root", "value"),
    "product of roots": Wrong(lambda *a: frechet(*a, root="product of roots"), "unless they commute", "value"),
    "no factor 2": Wrong(lambda *a: frechet(*a, two=False), "needs the factor 2", "value"),
    "distance, not squared": Wrong(lambda *a: frechet(*a, mean="norm"), "not the distance", "value"),
    "no mean term": Wrong(lambda *a: frechet(*a, mean="none"), "|mu1 - mu2|^2 is missing", "value"),
    "no covariance term": Wrong(lambda *a: frechet(*a, cov=False), "covariance term is missing", "value"),
    "cov1 twice": Wrong(lambda mu1, cov1, mu2, cov2: frechet(mu1, cov1, mu2, cov1), "got", "independent"),
    "mu1 twice": Wrong(lambda mu1, cov1, mu2, cov2: frechet(mu1, cov1, mu1, cov2), "got", "independent"),
    "covariance symmetrised in place": Wrong(lambda mu1, cov1, mu2, cov2: frechet(mu1, cov1.add_(cov1.T.clone()).div_(2).add_(1e-3), mu2, cov2),
                                             "changed in place", "state"),
    "a vector": Wrong(lambda mu1, cov1, mu2, cov2: (mu1 - mu2) ** 2, "return one number", "crash"),
    "a string": Wrong(lambda *a: f"{frechet(*a).item():.3f}", "return one number", "crash"),
    "in place": Wrong(lambda mu1, cov1, mu2, cov2: frechet(mu1.sub_(mu2), cov1, mu2 * 0, cov2), "changed in place", "state"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}


@pytest.mark.parametrize("answer", [frechet, scipy_style, numpy_style])
def test_frechet_solutions_pass(answer, capsys):
    assert_passes(checks.check_frechet_distance, answer, capsys)


@pytest.mark.parametrize("case", list(FRECHET_WRONG))
def test_frechet_rejects(case, capsys):
    assert_rejects(checks.check_frechet_distance, FRECHET_WRONG[case], capsys)
