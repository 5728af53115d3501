"""Lecture 9's self-checks: the mode-coverage metric, packing, the minibatch standard deviation."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gancourse import checks
from tests.check_answers import Wrong, assert_passes, assert_rejects, not_done


# --- 9.1 mode coverage: variants of one answer ----------------------------------------------------------
def coverage(distance="l2", radius=3.0, counted="good", modes_rule="nearest", log=torch.log, kl="forward",
             share="fraction", empty="inf", nearest="min"):
    """A mode-coverage answer with one thing changed (the defaults give the right one)."""
    def fn(points, centers, std):
        diff = points[:, None, :] - centers[None, :, :]  # (N, K, 2)
        d = {"l2": diff.norm(dim=-1), "linf": diff.abs().amax(-1), "x": diff[..., 0].abs(),
             "squared": (diff ** 2).sum(-1)}[distance]
        dist, idx = d.max(1) if nearest == "max" else d.min(1)
        good = dist <= radius * std
        if nearest == "first":
            within = d <= radius * std
            idx = torch.where(within.any(1), within.int().argmax(1), idx)
        k = len(centers)
        counts = torch.bincount(idx[good] if counted == "good" else idx, minlength=k)
        modes = {"nearest": (counts > 0).sum(), "two": (counts > 1).sum(),
                 "within": (d[good] <= radius * std).any(0).sum()}[modes_rule]
        hq = good.float().mean() if share == "fraction" else good.sum()
        if counts.sum() == 0:
            return int(modes), float(hq), {"inf": math.inf, "nan": math.nan, "zero": 0.0}[empty]
        p = counts.double() / counts.sum()
        if kl == "forward":
            value = (p[p > 0] * log(p[p > 0] * k)).sum()
        elif kl == "reverse":
            value = (torch.full_like(p, 1 / k) * log((1 / k) / p)).sum()
        else:  # no mask: 0 log 0 gives nan
            value = (p * log(p * k)).sum()
        return int(modes), float(hq), float(value)
    return fn


COVERAGE_WRONG = {
    "all samples counted": Wrong(coverage(counted="all"), "HIGH-QUALITY sample", "value"),
    "1 std": Wrong(coverage(radius=1.0), "threshold is 3 standard deviations", "value"),
    "2.5 std": Wrong(coverage(radius=2.5), "for", "value"),
    "3.5 std": Wrong(coverage(radius=3.5), "for", "value"),
    "squared distance": Wrong(coverage(distance="squared"), "not its square", "value"),
    "max-coordinate distance": Wrong(coverage(distance="linf"), "for", "value"),
    "x coordinate only": Wrong(coverage(distance="x"), "for", "value"),
    "first centre within reach": Wrong(coverage(nearest="first"), "NEAREST centre, not the first", "value"),
    "farthest centre": Wrong(coverage(nearest="max"), "for", "value"),
    "any centre within reach": Wrong(coverage(modes_rule="within"), "not any centre within", "value"),
    "two samples per mode": Wrong(coverage(modes_rule="two"), "nearest centre of at least one", "value"),
    "log2": Wrong(coverage(log=torch.log2), "not log2", "value"),
    "log10": Wrong(coverage(log=torch.log10), "not log10", "value"),
    "reverse KL": Wrong(coverage(kl="reverse"), "not KL(uniform || p)", "value"),
    "0 log 0 not dropped": Wrong(coverage(kl="unmasked"), "0 log 0", "value"),
    "count, not share": Wrong(coverage(share="count"), "not a count", "value"),
    "nan when empty": Wrong(coverage(empty="nan"), "float('inf')", "extreme"),
    "0 when empty": Wrong(coverage(empty="zero"), "float('inf')", "extreme"),
    "order swapped": Wrong(lambda p, c, s: (lambda m, h, k: (m, k, h))(*coverage()(p, c, s)), "swapped", "value"),
    "strings": Wrong(lambda p, c, s: tuple(str(v) for v in coverage()(p, c, s)), "one number", "crash"),
    "a dict": Wrong(lambda p, c, s: dict(zip("mhk", coverage()(p, c, s))), "three numbers", "crash"),
    "one tensor of 3": Wrong(lambda p, c, s: torch.tensor(coverage()(p, c, s)), "three numbers", "crash"),
    "centres moved in place": Wrong(lambda p, c, s: coverage()(p.sub_(c.mean(0)), c.sub_(c.mean(0)), s),
                                    "in place", "state"),
    "K hard-coded to 25": Wrong(lambda p, c, s: (lambda m, h, k: (m, h, k + math.log(25 / len(c))))(*coverage()(p, c, s)),
                                "for", "shapes"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}


def coverage_numpy(points, centers, std):
    d = np.linalg.norm(points.numpy()[:, None] - centers.numpy()[None], axis=-1)
    nearest, dist = d.argmin(1), d.min(1)
    good = dist <= 3 * std
    counts = np.bincount(nearest[good], minlength=len(centers))
    if not good.any():
        return 0, 0.0, np.inf
    p = counts[counts > 0] / counts.sum()
    return np.int64((counts > 0).sum()), np.float32(good.mean()), np.float64((p * np.log(p * len(centers))).sum())


def coverage_loops(points, centers, std):
    counts = [0] * len(centers)
    for x in points.tolist():
        d = [math.dist(x, c) for c in centers.tolist()]
        j = min(range(len(d)), key=d.__getitem__)
        if d[j] <= 3 * std:
            counts[j] += 1
    total = sum(counts)
    kl = sum(n / total * math.log(n / total * len(counts)) for n in counts if n) if total else float("inf")
    return sum(n > 0 for n in counts), total / len(points), kl


def coverage_entropy(points, centers, std):
    d2, idx = torch.cdist(points, centers).pow(2).min(1)
    good = d2 <= (3 * std) ** 2
    p = F.one_hot(idx[good], len(centers)).double().mean(0) if good.any() else None
    if p is None:
        return torch.tensor(0), torch.tensor(0.0), torch.tensor(float("inf"))
    entropy = -torch.special.xlogy(p, p).sum()
    return (p > 0).sum(), good.double().mean(), math.log(len(centers)) - entropy


COVERAGE_RIGHT = {"reference": coverage(), "numpy": coverage_numpy, "loops": coverage_loops,
                  "entropy form": coverage_entropy}


# --- 9.2 packing -------------------------------------------------------------------------------------------
def divisible(fn):
    def checked(x, m):
        if len(x) % m:
            raise ValueError("B not divisible by m")
        return fn(x, m)
    return checked


PACK_WRONG = {
    "transposed first": Wrong(divisible(lambda x, m: x.T.reshape(len(x) // m, -1)), "not one of the samples", "value"),
    "coordinates interleaved": Wrong(divisible(lambda x, m: x.reshape(len(x) // m, m, -1).transpose(1, 2).reshape(len(x) // m, -1)),
                                     "not one of the samples", "value"),
    "m rows": Wrong(divisible(lambda x, m: x.reshape(m, -1)), "expected shape", "shapes"),
    "d hard-coded to 2": Wrong(divisible(lambda x, m: x.reshape(-1, 2 * m)), "expected shape", "shapes"),
    "3-D packs": Wrong(divisible(lambda x, m: x.reshape(len(x) // m, m, -1)), "2-D tensor", "shapes"),
    "side by side with itself": Wrong(divisible(lambda x, m: x.repeat(1, m)[::m]), "missing", "value"),
    "summed packs": Wrong(divisible(lambda x, m: x.reshape(len(x) // m, m, -1).sum(1)), "expected shape", "shapes"),
    "centred": Wrong(divisible(lambda x, m: (x - x.mean(0)).reshape(len(x) // m, -1)), "unchanged", "value"),
    "detached": Wrong(divisible(lambda x, m: x.detach().reshape(len(x) // m, -1)), "not connected", "extreme"),
    "rebuilt with requires_grad": Wrong(divisible(lambda x, m: x.detach().reshape(len(x) // m, -1).requires_grad_()),
                                        "not connected", "extreme"),
    "first of each pack detached": Wrong(divisible(lambda x, m: torch.cat([x[:1].detach(), x[1:]]).reshape(len(x) // m, -1)),
                                         "cut from x", "extreme"),
    "float32 forced": Wrong(divisible(lambda x, m: x.float().reshape(len(x) // m, -1)), "dtype", "device"),
    "silently truncated": Wrong(lambda x, m: x[:len(x) // m * m].reshape(len(x) // m, -1), "instead of an error", "shapes"),
    "padded with repeats": Wrong(lambda x, m: torch.cat([x, x[:(-len(x)) % m]]).reshape(-1, m * x.shape[1]),
                                 "instead of an error", "shapes"),
    "numpy": Wrong(divisible(lambda x, m: x.detach().numpy().reshape(len(x) // m, -1)), "tensor", "crash"),
    "centred in place": Wrong(divisible(lambda x, m: x.detach().sub_(x.detach().mean(0)).reshape(len(x) // m, -1)),
                              "in place", "state"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
PACK_RIGHT = {
    "reshape": divisible(lambda x, m: x.reshape(len(x) // m, m * x.shape[1])),
    "chunks side by side": divisible(lambda x, m: torch.stack(x.split(m)).flatten(1)),
    "strided groups": divisible(lambda x, m: torch.cat([x[i::m] for i in range(m)], 1)),
    "a loop": divisible(lambda x, m: torch.stack([torch.cat(list(x[i:i + m])) for i in range(0, len(x), m)])),
    "reshape refuses": lambda x, m: x.reshape(-1, m * x.shape[1]),  # RuntimeError when B % m: an error too
}


# --- 9.3 minibatch standard deviation -------------------------------------------------------------------
def with_column(value):
    return lambda h: torch.cat([h, value(h).expand(len(h), 1)], 1)


MBSTD_WRONG = {
    "over the features": Wrong(lambda h: torch.cat([h, h.std(1, keepdim=True)], 1), "differs from row to row", "value"),
    "over the features, averaged": Wrong(with_column(lambda h: h.std(1).mean()), "dim 1", "value"),
    "variance": Wrong(with_column(lambda h: h.var(0, unbiased=False).mean()), "the variance", "value"),
    "std of everything": Wrong(with_column(lambda h: h.std()), "all numbers at once", "value"),
    "mean absolute deviation": Wrong(with_column(lambda h: (h - h.mean(0)).abs().mean()), "mean absolute", "value"),
    "summed over features": Wrong(with_column(lambda h: h.std(0).sum()), "expected", "value"),
    "not centred": Wrong(with_column(lambda h: h.pow(2).mean(0).sqrt().mean()), "expected", "value"),
    "a large epsilon": Wrong(with_column(lambda h: (h.var(0) + 1e-2).sqrt().mean()), "epsilon", "value"),
    "one column per feature": Wrong(lambda h: torch.cat([h, h.std(0).expand(len(h), -1)], 1), "one column", "shapes"),
    "replaces h": Wrong(lambda h: h.std(0).mean().expand_as(h).clone(), "append the column", "shapes"),
    "column first": Wrong(lambda h: torch.cat([h.std(0).mean().expand(len(h), 1), h], 1), "put the new feature last", "value"),
    "std detached": Wrong(with_column(lambda h: h.std(0).mean().detach()), "keep both h and the std", "extreme"),
    "item": Wrong(lambda h: torch.cat([h, torch.full((len(h), 1), h.std(0).mean().item(), dtype=h.dtype)], 1),
                  "keep both h and the std", "extreme"),
    "h detached": Wrong(lambda h: torch.cat([h.detach(), h.std(0).mean().expand(len(h), 1)], 1), "keep both h", "extreme"),
    "all detached": Wrong(lambda h: with_column(lambda g: g.std(0).mean())(h).detach(), "not connected", "extreme"),
    "float32 forced": Wrong(lambda h: with_column(lambda g: g.std(0).mean())(h.float()), "dtype", "device"),
    "centred in place": Wrong(lambda h: with_column(lambda g: g.std(0).mean())(h.detach().sub_(h.detach().mean(0))),
                              "in place", "state"),
    "batch of 8 only": Wrong(with_column(lambda h: h[:8].std(0).mean()), "expected", "shapes"),
    "nan": Wrong(with_column(lambda h: h.std(0).mean() * math.nan), "finite", "extreme"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
MBSTD_RIGHT = {
    "unbiased std": with_column(lambda h: h.std(0).mean()),
    "biased with epsilon": with_column(lambda h: (h.var(0, unbiased=False) + 1e-8).sqrt().mean()),
    "by hand": with_column(lambda h: ((h - h.mean(0)) ** 2).mean(0).sqrt().mean()),
    "std_mean and repeat": lambda h: torch.cat([h, torch.std_mean(h, 0)[0].mean().repeat(len(h), 1)], 1),
    "pad then fill": lambda h: F.pad(h, (0, 1)) + F.pad(torch.zeros_like(h), (0, 1), value=1.0) * h.std(0).mean(),
}


@pytest.mark.parametrize("case", COVERAGE_RIGHT)
def test_mode_coverage_accepts(case, capsys):
    assert_passes(checks.check_mode_coverage, COVERAGE_RIGHT[case], capsys)


@pytest.mark.parametrize("case", COVERAGE_WRONG)
def test_mode_coverage_rejects(case, capsys):
    assert_rejects(checks.check_mode_coverage, COVERAGE_WRONG[case], capsys)


@pytest.mark.parametrize("case", PACK_RIGHT)
def test_pack_accepts(case, capsys):
    assert_passes(checks.check_pack, PACK_RIGHT[case], capsys)


@pytest.mark.parametrize("case", PACK_WRONG)
def test_pack_rejects(case, capsys):
    assert_rejects(checks.check_pack, PACK_WRONG[case], capsys)


@pytest.mark.parametrize("case", MBSTD_RIGHT)
def test_minibatch_std_accepts(case, capsys):
    assert_passes(checks.check_minibatch_std, MBSTD_RIGHT[case], capsys)


@pytest.mark.parametrize("case", MBSTD_WRONG)
def test_minibatch_std_rejects(case, capsys):
    assert_rejects(checks.check_minibatch_std, MBSTD_WRONG[case], capsys)


def test_the_course_answers_pass(capsys):
    from gancourse.metrics import mode_coverage
    from gancourse.models.toy_gan import minibatch_stddev, pack_points

    class Mixture:
        def __init__(self, centers, std):
            self._centers, self.std = centers, std

        def centers(self):
            return self._centers

    def course_coverage(points, centers, std):
        result = mode_coverage(points, Mixture(centers, std))
        return result.modes, result.high_quality, result.kl

    assert_passes(checks.check_mode_coverage, course_coverage, capsys)
    assert_passes(checks.check_pack, pack_points, capsys)
    assert_passes(checks.check_minibatch_std, lambda h: torch.cat([h, minibatch_stddev(h)], 1), capsys)
