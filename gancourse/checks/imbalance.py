"""Self-checks of lecture 13: SMOTE's interpolation, BAGAN's class Gaussians and its (C+1)-way D loss."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from gancourse.checks._base import Fail, call, check, describe, seeded
from gancourse.checks._loss import labels, logits, probe_loss


def nearest_neighbours(x: Tensor, k: int) -> Tensor:
    """(N, k): the indices of each row's k nearest other rows, by Euclidean distance."""
    distances = torch.cdist(x, x)
    distances.fill_diagonal_(float("inf"))  # a point is not its own neighbour
    return distances.topk(k, largest=False).indices


def _segments(out: Tensor, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """For each row of ``out``: the pair (i, j), i < j, of rows of ``x`` whose line it lies nearest,
    where on it (gap: 0 at x_i, 1 at x_j) and how far off the line, relative to the segment's length."""
    i, j = torch.triu_indices(len(x), len(x), offset=1)
    direction = x[j] - x[i]  # (P, d)
    offset = out[:, None, :] - x[i][None]  # (M, P, d)
    gap = (offset * direction).sum(-1) / (direction * direction).sum(-1)  # (M, P)
    off_line = (offset - gap[..., None] * direction).norm(dim=-1) / direction.norm(dim=-1)
    best = off_line.argmin(1)
    rows = torch.arange(len(out))
    return i[best], j[best], gap[rows, best], off_line[rows, best]


def _pair_probabilities(neighbours: Tensor, n: int) -> Tensor:
    """(n, n), upper triangle: how likely SMOTE picks the segment {i, j}, base drawn uniformly and
    one of its k nearest neighbours uniformly."""
    k = neighbours.shape[1]
    p = torch.zeros(n, n, dtype=torch.float64)
    for i in range(n):
        for j in neighbours[i].tolist():
            p[min(i, j), max(i, j)] += 1 / (n * k)
    return p


def _draw(fn: Callable, x: Tensor, n_new: int, k: int, seed: int):
    with torch.random.fork_rng():  # the student's random state is left as it was
        torch.random.default_generator.manual_seed(seed)
        return call(fn, x, n_new, k)


def _ks_uniform(values: Tensor, high: float) -> float:
    """Kolmogorov-Smirnov distance of ``values`` from the uniform distribution on [0, high]."""
    v = values.sort().values / high
    n = len(v)
    ranks = torch.arange(1, n + 1, dtype=v.dtype) / n
    return float(torch.maximum(ranks - v, v - (ranks - 1 / n)).max())


@check("SMOTE")
def check_smote(fn: Callable[[Tensor, int, int], Tensor]) -> None:
    """Check ``fn(x, n_new, k)``: ``n_new`` new rows, each x_i + gap * (x_j - x_i) for a minority row
    x_i drawn at random, x_j one of its ``k`` nearest other rows (Euclidean) drawn at random and one
    gap ~ U[0, 1) per new row."""
    for n, d, k, n_new, dtype, seed in ((20, 6, 3, 6000, torch.float32, 0), (13, 3, 5, 3001, torch.float64, 1),
                                        (16, 4, 4, 4000, torch.float32, 2)):
        x = torch.randn(n, d, generator=seeded(seed + 10), dtype=dtype) * torch.linspace(0.5, 2, d, dtype=dtype)
        kept = x.clone()
        out = _draw(fn, x, n_new, k, seed)
        if not torch.equal(x, kept):
            raise Fail("the samples passed in were changed in place", "leave the caller's x alone: no += or copy_")
        if not isinstance(out, Tensor) or tuple(out.shape) != (n_new, d):
            raise Fail(f"for x of shape {(n, d)} and n_new={n_new} it returned {describe(out)}, expected shape "
                       f"{(n_new, d)}", "return only the n_new new rows (not the originals with them), one per row")
        if out.dtype != dtype:
            raise Fail(f"for {str(dtype).replace('torch.', '')} samples it returned {describe(out)}",
                       "make the gaps in x's dtype: torch.rand(n_new, 1, dtype=x.dtype)")
        out64, x64 = out.detach().double(), x.detach().double()
        if not torch.isfinite(out64).all():
            raise Fail("the new samples hold NaN or inf", "interpolate between two existing rows")
        i, j, gap, off_line = _segments(out64, x64)
        if (off_line > 1e-4).any():
            raise Fail(f"{int((off_line > 1e-4).sum())} of {n_new} new samples lie on no line through two "
                       f"minority samples", "one gap per new sample, the same for all of its features: "
                       "x_i + gap * (x_j - x_i) with gap of shape (n_new, 1), not (n_new, d)")
        if (gap < -1e-6).any() or (gap > 1 + 1e-6).any():
            raise Fail("some new samples lie on the line through two samples but beyond them",
                       "draw the gap from [0, 1): torch.rand, not torch.randn or a range like [-1, 1]")
        ends = (out64[:, None, :] - x64[None]).norm(dim=-1).min(1).values < 1e-9 * x64.norm(dim=1).max()
        if ends.float().mean() > 0.01:
            raise Fail(f"{int(ends.sum())} of {n_new} new samples are copies of existing ones",
                       "a point is its own nearest neighbour (distance 0): leave it out of its k neighbours")
        neighbours = nearest_neighbours(x64, k)
        p = _pair_probabilities(neighbours, n)
        strangers = p[i, j] == 0
        if strangers.any():
            raise Fail(f"{int(strangers.sum())} of {n_new} new samples interpolate between two samples that "
                       f"are not among each other's {k} nearest neighbours",
                       "find the k nearest by Euclidean distance (torch.cdist), leaving each point itself out, "
                       "and pick x_j among them; not a random minority sample, not the farthest")
        counts = torch.zeros(n, n, dtype=torch.float64).index_put_((i, j), torch.ones(n_new, dtype=torch.float64),
                                                                  accumulate=True)
        support = p > 0
        expected = p[support] * n_new
        chi2 = float(((counts[support] - expected) ** 2 / expected).sum())
        df = int(support.sum()) - 1
        if chi2 > df + 8 * (2 * df) ** 0.5 + 10:  # far beyond chance (p < 1e-6)
            first = torch.zeros(n, n, dtype=torch.bool)
            for a, b in enumerate(neighbours[:, 0].tolist()):
                first[min(a, b), max(a, b)] = True
            hint = ("it always takes the nearest neighbour: pick x_j uniformly among the k nearest "
                    "(torch.randint(0, k, ...))" if first[i, j].float().mean() > 0.95 else
                    "draw the base sample uniformly among all minority samples and x_j uniformly among its k "
                    "nearest neighbours")
            raise Fail(f"the segments are not drawn as SMOTE draws them (chi-square {chi2:.0f} on {df} "
                       f"degrees of freedom)", hint)
        folded = torch.minimum(gap, 1 - gap).clamp(0, 0.5)  # a segment has no direction: fold at its middle
        distance = _ks_uniform(folded, 0.5)
        if distance > 2.5 / n_new ** 0.5:
            where = ("all at one point of the segment: draw a fresh gap for every new sample"
                     if folded.std() < 1e-6 else "the gap should be uniform on [0, 1): torch.rand")
            raise Fail(f"the gaps along the segments are not uniform (Kolmogorov-Smirnov distance "
                       f"{distance:.3f})", where)
        if (problem := _directed_problem(neighbours, i, j, gap)) is not None:
            raise Fail(*problem)
        if torch.get_default_dtype() != torch.float32 or x.requires_grad:
            raise Fail("it changed torch's default dtype or x's requires_grad",
                       "leave global settings and the caller's tensor as they were")
        again = _draw(fn, x, n_new, k, seed + 100)
        if isinstance(again, Tensor) and again.shape == out.shape:
            if torch.equal(again, out):
                raise Fail("two calls returned the same samples", "draw fresh random numbers on every call, no fixed seed")
            i2, j2, gap2, _ = _segments(again.detach().double(), x64)
            folded2 = torch.minimum(gap2, 1 - gap2).clamp(0, 0.5)
            if (torch.equal(i2, i) and torch.equal(j2, j)) or torch.allclose(folded2, folded, atol=1e-6):
                raise Fail("two calls drew the same " + ("segments" if torch.equal(i2, i) else "gaps"),
                           "draw fresh random numbers on every call: no fixed seed for any part of the draw")


def _independence_chi2(a: Tensor, b: Tensor) -> tuple[float, int]:
    """Chi-square statistic and degrees of freedom of the contingency table of two integer codes."""
    table = torch.zeros(int(a.max()) + 1, int(b.max()) + 1, dtype=torch.float64)
    table.index_put_((a, b), torch.ones(len(a), dtype=torch.float64), accumulate=True)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    expected = table.sum(1, keepdim=True) * table.sum(0, keepdim=True) / table.sum()
    return float(((table - expected) ** 2 / expected).sum()), (table.shape[0] - 1) * (table.shape[1] - 1)


def _directed_problem(neighbours: Tensor, i: Tensor, j: Tensor, gap: Tensor) -> tuple[str, str] | None:
    """Where only one end of a segment has the other among its k nearest, that end is the base: from
    it, the gap must be uniform on [0, 1] and independent of the base and the neighbour's rank."""
    n, k = neighbours.shape
    rank = torch.full((n, n), -1, dtype=torch.long)
    rank[torch.arange(n).repeat_interleave(k), neighbours.flatten()] = torch.arange(k).repeat(n)
    forward, backward = rank[i, j] >= 0, rank[j, i] >= 0
    one_way = forward ^ backward
    base = torch.where(forward, i, j)[one_way]
    from_base = torch.where(forward, gap, 1 - gap)[one_way].clamp(0, 1)
    r = torch.where(forward, rank[i, j], rank[j, i])[one_way]
    m = len(from_base)
    if m < 200:
        return None
    if _ks_uniform(from_base, 1.0) > 2.5 / m ** 0.5 or from_base.min() > 20 / m or from_base.max() < 1 - 20 / m:
        return ("measured from the sample it starts at, the gaps are not uniform on [0, 1]",
                "x_i + gap * (x_j - x_i) with gap = torch.rand(...): the whole segment, from x_i to x_j, not half of it")
    bins = (from_base * 4).long().clamp(max=3)
    for codes, what in ((r, "which of the k neighbours was picked"), (base % 4, "the base sample")):
        chi2, df = _independence_chi2(codes, bins)
        if df and chi2 > df + 8 * (2 * df) ** 0.5 + 10:
            return (f"the gap depends on {what} (chi-square {chi2:.0f} on {df} degrees of freedom)",
                    "draw the base, the neighbour and the gap independently: one random number per job")
    return None


def _class_gaussians(codes: Tensor, y: Tensor, num_classes: int) -> tuple[Tensor, Tensor]:
    means = torch.stack([codes[y == c].mean(0) for c in range(num_classes)])
    covariances = torch.stack([torch.cov(codes[y == c].T) for c in range(num_classes)])
    return means, covariances


def _gaussian_mistakes(codes: Tensor, y: Tensor, num_classes: int) -> dict[str, tuple[Tensor, Tensor]]:
    """The typical wrong (means, covariances), each under the hint that names it."""
    means, cov = _class_gaussians(codes, y, num_classes)
    counts = torch.bincount(y, minlength=num_classes).to(codes.dtype)
    raw = torch.stack([codes[y == c].T @ codes[y == c] / (counts[c] - 1) for c in range(num_classes)])
    pooled = torch.cov(codes.T).expand_as(cov)
    return {
        "divide by n_c - 1 (as torch.cov and numpy.cov do), not by n_c": (means, cov * ((counts - 1) / counts)[:, None, None]),
        "subtract the class's mean from its codes before multiplying: the covariance is centred": (means, raw),
        "each class's covariance comes from that class's codes alone, not from all codes": (means, pooled),
        "the full covariance, not only its diagonal (the variances)": (means, torch.diag_embed(cov.diagonal(dim1=1, dim2=2))),
        "each class's mean comes from that class's codes alone, not from all codes": (codes.mean(0).expand_as(means), cov),
    }


@check("class Gaussians")
def check_class_gaussians(fn: Callable[[Tensor, Tensor, int], tuple]) -> None:
    """Check ``fn(codes, labels, num_classes)``: per class c, the mean (C, d) and covariance (C, d, d)
    of the codes labelled c, the covariance divided by n_c - 1, at float64 precision for float64 codes."""
    for counts, d, seed in (((3, 6, 4, 9), 5, 0), ((7, 2, 5), 3, 1), ((12, 4, 3, 25, 8, 2), 8, 2)):
        num_classes = len(counts)
        gen = seeded(seed)
        y = torch.repeat_interleave(torch.arange(num_classes), torch.tensor(counts))
        y = y[torch.randperm(len(y), generator=gen)]  # classes interleaved, as in a real dataset
        centres = torch.randn(num_classes, d, generator=gen, dtype=torch.float64) * 3
        mixing = torch.randn(num_classes, d, d, generator=gen, dtype=torch.float64)
        codes = centres[y] + (mixing[y] @ torch.randn(len(y), d, 1, generator=gen, dtype=torch.float64)).squeeze(2)
        kept_codes, kept_y = codes.clone(), y.clone()
        result = call(fn, codes, y, num_classes)
        if not torch.equal(codes, kept_codes) or not torch.equal(y, kept_y) or codes.requires_grad:
            raise Fail("the codes or labels passed in were changed in place", "leave the caller's tensors alone: "
                       "codes[y == c] - mean makes a new tensor, codes -= mean does not")
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise Fail(f"it returned {describe(result)}", "return two tensors: (means, covariances)")
        means, cov = result
        for value, shape, what in ((means, (num_classes, d), "the means"), (cov, (num_classes, d, d), "the covariances")):
            if not isinstance(value, Tensor) or tuple(value.shape) != shape:
                raise Fail(f"{what} are {describe(value)}, expected shape {shape} for {num_classes} classes of "
                           f"{d}-dimensional codes", "one row (or matrix) per class, class c at index c; "
                           "the covariance of a class is d x d: torch.cov(codes_c.T), not codes_c @ codes_c.T")
            if value.dtype != torch.float64:
                raise Fail(f"{what} came back as {value.dtype} for float64 codes",
                           "compute in the codes' dtype: no .float() on the way")
        want_means, want_cov = _class_gaussians(codes, y, num_classes)
        if not torch.allclose(means, want_means, rtol=1e-9, atol=1e-12):
            c = int((means - want_means).abs().sum(1).argmax())
            hint = next((h for h, (m, _) in _gaussian_mistakes(codes, y, num_classes).items()
                         if torch.allclose(means, m, rtol=1e-9, atol=1e-12)),
                        "row c holds the mean of the codes whose label is c: codes[labels == c].mean(0)")
            raise Fail(f"the mean of class {c} is off by up to {(means - want_means)[c].abs().max().item():.3g}", hint)
        if not torch.allclose(cov, want_cov, rtol=1e-9, atol=1e-12):
            c = int((cov - want_cov).abs().flatten(1).sum(1).argmax())
            hint = next((h for h, (_, s) in _gaussian_mistakes(codes, y, num_classes).items()
                         if torch.allclose(cov, s, rtol=1e-9, atol=1e-12)),
                        "cov_c = (X_c - mean_c).T @ (X_c - mean_c) / (n_c - 1), X_c the codes of class c")
            raise Fail(f"the covariance of class {c} is off by up to "
                       f"{(cov - want_cov)[c].abs().max().item():.3g}", hint)
    if torch.get_default_dtype() != torch.float32:
        raise Fail("it changed torch's default dtype", "leave global settings as they were")
    try:
        meta = fn(codes.to("meta"), y.to("meta"), num_classes)
    except Exception as err:  # noqa: BLE001 - only a device mix-up is this probe's business
        if "expected device" in str(err) or "same device" in str(err):
            raise Fail("with codes on another device it raised an error", "make every tensor on the codes' "
                       "device: torch.zeros(..., device=codes.device), or build the result with torch.stack") from None
        return
    if isinstance(meta, (tuple, list)) and any(isinstance(v, Tensor) and v.device.type != "meta" for v in meta):
        raise Fail("for codes on another device it returned tensors elsewhere",
                   "make every tensor on the codes' device: device=codes.device, or torch.stack")


def _ce(logits_: Tensor, target: Tensor | int) -> Tensor:
    if isinstance(target, int):
        target = torch.full((len(logits_),), target % logits_.shape[1], dtype=torch.long, device=logits_.device)
    return F.cross_entropy(logits_, target)


@check("BAGAN discriminator loss")
def check_bagan_discriminator_loss(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(real_logits, labels, fake_logits)``: D's logits have C + 1 columns, the last one
    "fake"; cross-entropy of the real images against their labels plus that of the fakes against
    class C, each a mean over its batch."""
    reference = lambda r, y, f: _ce(r, y) + _ce(f, -1)  # noqa: E731
    mistakes = {
        "the fake class is the last one, index C (= num_classes), not 0": lambda r, y, f: _ce(r, y) + _ce(f, 0),
        "a fake belongs to the fake class C, whatever class G was asked for": lambda r, y, f: _ce(r, y) + _ce(f, y),
        "the fakes' term is missing: D must also learn to call them fake": lambda r, y, f: _ce(r, y),
        "the real images' term is missing: D must also classify the real ones": lambda r, y, f: _ce(f, -1),
        "add the two cross-entropies: BAGAN's D loss is their sum, not their mean": lambda r, y, f: reference(r, y, f) / 2,
        "sign flipped: D minimises the cross-entropy": lambda r, y, f: -reference(r, y, f),
        "F.cross_entropy takes logits: no softmax before it":
            lambda r, y, f: _ce(F.softmax(r, 1), y) + _ce(F.softmax(f, 1), -1),
        "score the real images over all C + 1 logits, the fake one too: D must learn they are not fake":
            lambda r, y, f: _ce(r[:, :-1], y) + _ce(f, -1),
        "sum over the batch instead of the mean": lambda r, y, f: reference(r, y, f) * len(r),
    }
    for num_classes in (4, 7):  # the fake class is the last, whatever C
        probe_loss(fn, [logits("real_logits", num_classes + 1), labels("labels", num_classes),
                        logits("fake_logits", num_classes + 1)], reference, mistakes=mistakes, what="the loss")
