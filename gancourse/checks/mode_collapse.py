"""Self-checks of lecture 9: the mode-coverage metric, packing samples for D, the minibatch std feature."""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from gancourse.checks._base import Fail, as_number, call, check, describe, seeded


# --- 9.1 the mode-coverage metric -------------------------------------------------------------------
def _coverage(points: Tensor, centers: Tensor, std: float, *, radius: float | None = 3.0, squared: bool = False,
              all_samples: bool = False, first_within: bool = False, log=math.log,
              reverse: bool = False, count_share: bool = False, any_within: bool = False) -> tuple[float, float, float]:
    """The metric, and (with one flag set) a typical mistake's version of it."""
    distance = torch.cdist(points.double(), centers.double())  # (N, K)
    nearest_distance, nearest = distance.min(1)
    if first_within:  # the first centre within reach, not the nearest one
        within = distance <= 3.0 * std
        nearest = torch.where(within.any(1), within.double().argmax(1), nearest)
    threshold = 3 * std ** 0.5 if radius is None else radius * std  # None: std taken for a variance
    good = (nearest_distance ** 2 if squared else nearest_distance) <= threshold
    counted = torch.ones_like(good) if all_samples else good
    counts = torch.bincount(nearest[counted], minlength=len(centers)).double()
    modes = float((counts > 0).sum())
    if any_within:  # every centre within 3 std of some high-quality sample
        modes = float((distance[good] <= 3.0 * std).any(0).sum())
    share = good.double().sum().item() if count_share else good.double().mean().item()
    if counts.sum() == 0:
        return modes, share, math.inf
    p, k = counts / counts.sum(), len(centers)
    if reverse:
        kl = math.inf if (p == 0).any() else sum((1 / k) * log((1 / k) / q) for q in p.tolist())
    else:
        kl = sum(q * log(q * k) for q in p.tolist() if q > 0)
    return modes, share, kl


_COVERAGE_MISTAKES = {
    "a mode counts only if a HIGH-QUALITY sample is nearest to it: count the modes of the samples within "
    "3 std, not of all samples": dict(all_samples=True),
    "the threshold is 3 standard deviations: distance <= 3 * std": dict(radius=1.0),
    "compare the distance, not its square, with 3 * std (or the squared distance with (3 * std)**2)":
        dict(squared=True),
    "each sample belongs to its NEAREST centre, not the first centre within reach": dict(first_within=True),
    "a mode is captured if it is the NEAREST centre of a high-quality sample, not any centre within "
    "3 std of one": dict(any_within=True),
    "the KL is in nats: use the natural log (math.log / torch.log), not log2": dict(log=math.log2),
    "the KL is in nats: use the natural log (math.log / torch.log), not log10": dict(log=math.log10),
    "the KL is KL(p || uniform), sum of p log(p K) over the captured modes, not KL(uniform || p)":
        dict(reverse=True),
    "std is a standard deviation, not a variance: the threshold is 3 * std, no square root":
        dict(radius=None),
    "the high-quality share is a fraction of all samples, between 0 and 1, not a count": dict(count_share=True),
}


def _coverage_case(gen: torch.Generator, k: int, std: float) -> tuple[Tensor, Tensor]:
    """``k`` (>= 9) centres on a line, 10 std apart except modes 4 and 5, and 6 and 7 (5 std), and
    points: unequal numbers near modes 0-4 (within 3 std, often beyond 1 and 2 std, a few just
    inside 3 std; mode 3 has exactly one), a few between modes 4 and 5 (within 3 std of both, nearest
    to 5), a few nearest to mode 6 but within 3 std of mode 7 (which no sample is nearest to), and
    low-quality points just beyond 3 std of the last mode, along and across the line."""
    x = torch.tensor([10.0 * i - 5 * (i >= 5) - 5 * (i >= 7) for i in range(k)]) * std
    centers = torch.stack([x, torch.zeros(k)], 1)
    chunks = []
    for mode, n in ((0, 30), (1, 12), (2, 5), (3, 1), (4, 3)):  # unequal counts: a KL that is not 0
        r = std * (0.2 + 2.7 * torch.rand(n, 1, generator=gen))
        if mode < 2:  # a few just inside the 3-std circle
            r[:3] = std * (2.95 + 0.04 * torch.rand(3, 1, generator=gen))
        angle = torch.rand(n, 1, generator=gen) * 2 * math.pi
        chunks.append(centers[mode] + r * torch.cat([angle.cos(), angle.sin()], 1))
    far = std * (3.01 + 0.04 * torch.rand(7, 1, generator=gen))  # just beyond 3 std of the last mode:
    directions = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [0.7071, 0.7071], [0.7071, -0.7071],
                               [1.0, 0.0], [0.7071, 0.7071]])  # along the line, across it, diagonally
    chunks.append(centers[k - 1] + far * directions)
    between = centers[4] + torch.tensor([2.8 * std, 0.0])  # 2.8 std from mode 4, 2.2 std from mode 5
    chunks.append(between.expand(6, 2).clone())
    beside = centers[6] + torch.tensor([2.2 * std, 0.0])  # nearest to mode 6, 2.8 std from mode 7
    chunks.append(beside.expand(4, 2).clone())
    points = torch.cat(chunks)
    return points[torch.randperm(len(points), generator=gen)], centers


def _numbers(out) -> tuple[float, float, float]:
    """(modes, high_quality, kl) as floats, or a Fail saying what came back."""
    if not (isinstance(out, (tuple, list)) and len(out) == 3):
        raise Fail(f"returned {describe(out)}", "return three numbers: (modes, high_quality, kl)")
    values = []
    for v in out:
        v = as_number(v)
        if isinstance(v, (str, bytes, complex)) or not isinstance(v, (int, float)) and not hasattr(v, "__float__"):
            raise Fail(f"returned {describe(out)}", "each of modes, high_quality and kl is one number")
        try:
            values.append(float(v))
        except (TypeError, ValueError, RuntimeError):
            raise Fail(f"returned {describe(out)}", "each of modes, high_quality and kl is one number") from None
    return tuple(values)


@check("mode coverage")
def check_mode_coverage(fn: Callable[[Tensor, Tensor, float], tuple]) -> None:
    """Check ``fn(points (N, 2), centers (K, 2), std) -> (modes, high_quality, kl)``: modes captured,
    the share of high-quality samples and KL(captured-mode histogram || uniform) in nats (inf when no
    sample is high quality), by the VEEGAN / PacGAN protocol."""
    gen = seeded(9)
    for k, std in ((9, 0.05), (12, 0.2)):
        points, centers = _coverage_case(gen, k, std)
        kept = (points.clone(), centers.clone())
        out = call(fn, points, centers, std)
        if not (torch.equal(points, kept[0]) and torch.equal(centers, kept[1])):
            raise Fail("the points or the centres were changed in place", "leave the caller's tensors alone")
        modes, share, kl = got = _numbers(out)
        expected = _coverage(points, centers, std)
        if all(math.isclose(g, e, rel_tol=1e-4, abs_tol=1e-6) for g, e in zip(got, expected)):
            continue
        if all(math.isclose(g, e, rel_tol=1e-4, abs_tol=1e-6) for g, e in zip(got, (expected[0], expected[2], expected[1]))):
            raise Fail(f"returned ({modes:g}, {share:.4g}, {kl:.4g}): high_quality and kl are swapped",
                       "return them in the order (modes, high_quality, kl)")
        hint = next((h for h, flags in _COVERAGE_MISTAKES.items()
                     if all(math.isclose(g, e, rel_tol=1e-4, abs_tol=1e-6)
                            for g, e in zip(got, _coverage(points, centers, std, **flags)))), None)
        if hint is None:
            names = ("modes", "high_quality", "kl")
            wrong = next(i for i in range(3) if not math.isclose(got[i], expected[i], rel_tol=1e-4, abs_tol=1e-6))
            hint = {0: "a mode is captured if it is the nearest centre of at least one sample within 3 std",
                    1: "high_quality = the fraction of samples within 3 std of their nearest centre",
                    2: "p = the high-quality samples' shares over the modes; kl = sum of p log(p K) where p > 0 "
                       "(0 log 0 counts as 0)"}[wrong]
            raise Fail(f"for {len(points)} points and {k} modes {names[wrong]} is {got[wrong]:.4g}, "
                       f"expected {expected[wrong]:.4g}", hint)
        raise Fail(f"for {len(points)} points and {k} modes it returned ({modes:g}, {share:.4g}, {kl:.4g}), "
                   f"expected ({expected[0]:g}, {expected[1]:.4g}, {expected[2]:.4g})", hint)
    # every sample on one mode: one mode captured, KL = log K; none within reach: KL is infinite
    centers = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    one = _numbers(call(fn, torch.full((50, 2), 0.01), centers, 0.05))
    if not (math.isclose(one[0], 1) and math.isclose(one[1], 1) and math.isclose(one[2], math.log(4), rel_tol=1e-4)):
        raise Fail(f"with all 50 samples on one of 4 modes it returned {one}, expected (1, 1.0, log 4 = 1.386)",
                   "a single captured mode: p = (1, 0, 0, 0), KL = 1 log(1 * 4)")
    none = _numbers(call(fn, torch.full((20, 2), 0.5), centers, 0.05))
    if none[:2] != (0.0, 0.0) or none[2] != math.inf:
        raise Fail(f"with no sample within 3 std of a mode it returned {none}, expected (0, 0.0, inf)",
                   "without high-quality samples there is no histogram: return float('inf') for the KL"
                   if none[:2] == (0.0, 0.0) else "count only the samples within 3 std of their nearest centre")


def _input_gradient(out: Tensor, x: Tensor, weights: Tensor, problem: str, hint: str) -> Tensor:
    """The gradient of sum(weights * out) with respect to ``x``; a Fail(problem, hint) when ``out``
    is not connected to ``x``."""
    if not out.requires_grad:
        raise Fail(problem, hint)
    (grad,) = torch.autograd.grad(out, x, weights, allow_unused=True)
    if grad is None:
        raise Fail(problem, hint)
    return grad


# --- 9.2 packing ------------------------------------------------------------------------------------
@check("packing")
def check_pack(fn: Callable[[Tensor, int], Tensor]) -> None:
    """Check ``fn(x (B, d), m) -> (B / m, m d)``: every row holds m whole samples side by side, each
    sample in exactly one row, connected to x for gradients; B not divisible by m is an error."""
    gen = seeded(2)
    for b, d, m, dtype in ((12, 2, 3, torch.float32), (8, 3, 2, torch.float64), (16, 2, 4, torch.float32),
                           (6, 2, 1, torch.float32)):
        x = torch.randn(b, d, generator=gen, dtype=dtype).requires_grad_(True)
        kept = x.detach().clone()
        out = call(fn, x, m)
        if not isinstance(out, Tensor):
            raise Fail(f"returned {describe(out)}", "return a tensor: D's first layer takes it")
        if not torch.equal(x.detach(), kept):
            raise Fail("x was changed in place", "build the packed tensor from x without modifying x")
        if tuple(out.shape) != (b // m, m * d):
            hint = ("one row per pack of m samples: B / m rows of m * d numbers" if out.numel() != b * d else
                    "return a 2-D tensor, one row per pack: (B // m, m * d)" if out.dim() != 2 else
                    f"each sample has d = x.shape[1] coordinates (here {d}): reshape to (B // m, m * d)"
                    if out.shape[0] != m else "rows are packs: reshape to (B // m, m * d), not (m, ...)")
            raise Fail(f"for {b} samples of {d} coordinates and m = {m} it returned {describe(out)}, "
                       f"expected shape ({b // m}, {m * d})", hint)
        if out.dtype != dtype:
            raise Fail(f"for {dtype} samples it returned {out.dtype}", "keep x's dtype")
        chunks = out.detach().reshape(b // m, m, d).reshape(b, d)  # each d numbers must be one sample
        match = (chunks[:, None, :] == kept[None, :, :]).all(-1)  # (B chunks, B samples)
        if not match.any(1).all():
            raise Fail(f"a group of {d} numbers in a pack is not one of the samples",
                       "keep each sample's coordinates together, unchanged and in order: x.reshape(B // m, "
                       "m * d), no arithmetic on x (transposing first mixes coordinates of different samples)")
        used = match.any(0)
        if not used.all() or match.sum() != b:
            raise Fail(f"{int((~used).sum())} of the {b} samples are missing from the packs and others repeat",
                       "each sample goes into exactly one pack: reshape, do not repeat or select")
        weights = torch.randn(out.shape, generator=gen, dtype=dtype)
        grad = _input_gradient(out, x, weights, "the packs are not connected to x",
                               "no .detach() or torch.tensor(...): G learns through them")
        if not torch.equal(grad.reshape(-1).sort().values, weights.reshape(-1).sort().values):
            raise Fail("x's gradient does not come back one to one: part of the packs is cut from x",
                       "rearrange x as a whole (reshape), with no .detach() on any part of it")
    x = torch.randn(10, 2, generator=gen)
    try:
        out = fn(x, 4)
    except NotImplementedError as err:
        raise Fail(f"raised NotImplementedError: {err}", "run the cell on its own") from None
    except Exception:  # noqa: BLE001 - any clear error is fine: 10 samples cannot make packs of 4
        return
    raise Fail(f"10 samples in packs of 4 returned {describe(out)} instead of an error",
               "B must be divisible by m: raise ValueError rather than drop or invent samples")


# --- 9.3 the minibatch standard deviation feature ----------------------------------------------------
def _with_std(h: Tensor, unbiased: bool, eps: float) -> Tensor:
    std = (h.var(0, unbiased=unbiased) + eps).sqrt().mean()
    return torch.cat([h, std.expand(len(h), 1)], 1)


@check("minibatch standard deviation")
def check_minibatch_std(fn: Callable[[Tensor], Tensor]) -> None:
    """Check ``fn(h (B, F)) -> (B, F + 1)``: h with one column appended, the same in every row, the
    standard deviation over the batch of each feature averaged over the features (biased or
    unbiased, a small epsilon allowed), in the autograd graph."""
    gen = seeded(3)
    for b, f, dtype in ((8, 5, torch.float64), (32, 16, torch.float32), (5, 3, torch.float64)):
        scale = torch.linspace(0.2, 3.0, f, dtype=dtype)  # features of different spreads
        h = (torch.randn(b, f, generator=gen, dtype=dtype) * scale + 1.0).requires_grad_(True)
        kept = h.detach().clone()
        out = call(fn, h)
        if not isinstance(out, Tensor):
            raise Fail(f"returned {describe(out)}", "return h with the new column: torch.cat([h, column], dim=1)")
        if not torch.equal(h.detach(), kept):
            raise Fail("h was changed in place", "compute the column from h and concatenate; do not modify h")
        if tuple(out.shape) != (b, f + 1):
            hint = {(b, 2 * f): "one column, not one per feature: average the per-feature stds",
                    (b, f): "append the column to h (F + 1 columns), do not replace h",
                    (b, 1): "return h with the column appended, not the column alone"}.get(
                tuple(out.shape), "torch.cat([h, column], dim=1), the column of shape (B, 1)")
            raise Fail(f"for h of shape ({b}, {f}) it returned {describe(out)}, expected ({b}, {f + 1})", hint)
        if out.dtype != dtype:
            raise Fail(f"for {dtype} features it returned {out.dtype}", "keep h's dtype")
        if not torch.allclose(out[:, :f].detach(), kept):
            raise Fail("the first F columns are not h", "keep h as it is and put the new feature last")
        column = out[:, f].detach()
        if not torch.isfinite(column).all():
            raise Fail(f"the new column holds {column[0].item()}", "the std of each feature over a batch of "
                       f"{b} is finite: h.std(dim=0), then .mean()")
        if not torch.allclose(column, column[0].expand(b)):
            raise Fail("the new column differs from row to row",
                       "one number for the whole batch: the std of each feature over the batch (dim 0), "
                       "averaged over the features, repeated in every row")
        tol = 1e-4 if dtype == torch.float32 else 1e-6
        matched = None
        for unbiased in (False, True):
            for eps in (0.0, 1e-8, 1e-6):
                reference = _with_std(kept, unbiased, eps)[:, f]
                if torch.allclose(column, reference, rtol=tol, atol=tol):
                    matched = (unbiased, eps)
        if matched is None:
            mistakes = {
                "the variance: take its square root, the standard deviation": kept.var(0, unbiased=False).mean(),
                "the variance: take its square root, the standard deviation (unbiased)": kept.var(0).mean(),
                "the std over the features of each sample (dim 1): it is over the batch (dim 0)":
                    kept.std(1).mean(),
                "the std over the features of each sample (dim 1): it is over the batch (dim 0) ":
                    kept.std(1, unbiased=False).mean(),
                "the std of all numbers at once: take it per feature, over the batch, then average":
                    kept.std(),
                "the std of all numbers at once: take it per feature, over the batch, then average ":
                    kept.std(unbiased=False),
                "the mean absolute deviation: use the standard deviation":
                    (kept - kept.mean(0)).abs().mean(),
            }
            hint = next((text for text, value in mistakes.items() if math.isclose(column[0].item(), value.item(),
                                                                                  rel_tol=1e-4)),
                        "mean over the features of sqrt(var over the batch): h.std(dim=0).mean()")
            biased, unbiased = (_with_std(kept, u, 0.0)[0, f].item() for u in (False, True))
            raise Fail(f"the new column is {column[0].item():.4f}, expected {biased:.4f} (biased std) or "
                       f"{unbiased:.4f} (unbiased)", hint.strip() + ("" if "epsilon" in hint else
                       "; an epsilon inside the square root, if any, stays tiny (1e-8)"))
        weights = torch.randn(out.shape, generator=gen, dtype=dtype)
        grad = _input_gradient(out, h, weights, "the result is not connected to h",
                               "no .detach(), .item() or torch.tensor(...)")
        h_ref = kept.clone().requires_grad_(True)
        (expected,) = torch.autograd.grad(_with_std(h_ref, *matched), h_ref, weights)
        if not torch.allclose(grad, expected, rtol=1e-3, atol=1e-4 if dtype == torch.float32 else 1e-8):
            raise Fail("h's gradient through the result is wrong",
                       "keep both h and the std in the graph (no .detach() or .item() on either): G learns "
                       "to vary its samples through the std")
