"""Lecture 6's self-checks: GAIN's hint, discriminator loss and generator loss."""
import pytest
import torch
import torch.nn.functional as F

from gancourse import checks, gain
from gancourse.checks.gain import _pairs_problem
from tests.check_answers import Wrong, assert_passes, assert_rejects, not_done


# --- the hint -------------------------------------------------------------------------------------
def gain_hint(mask, hint_rate):
    return mask * (torch.rand_like(mask) < hint_rate).float()


HINT_WRONG = {
    "B not multiplied by M": Wrong(lambda m, r: (torch.rand_like(m) < r).float(), "multiply B by the mask", "value"),
    "the mask itself": Wrong(lambda m, r: m.clone(), "the hint is the mask itself", "value"),
    "rate inverted": Wrong(lambda m, r: m * (torch.rand_like(m) > r).float(), "not rand > hint_rate", "value"),
    "probabilities, not draws": Wrong(lambda m, r: m * torch.rand_like(m), "values other than 0 and 1", "value"),
    "the paper's 0.5 hint": Wrong(lambda m, r: (b := (torch.rand_like(m) < r).float()) * m + 0.5 * (1 - b), "a 0.5-valued hint",
                                  "hint"),
    "fixed seed inside": Wrong(lambda m, r: m * (torch.rand(m.shape, generator=torch.Generator().manual_seed(1)) < r).to(m.dtype),
                               "draw fresh random numbers", "distribution"),
    "one draw per row": Wrong(lambda m, r: m * (torch.rand(len(m), 1) < r).to(m.dtype), "in a row", "distribution"),
    "one draw per column": Wrong(lambda m, r: m * (torch.rand(1, m.shape[1]) < r).to(m.dtype), "the hint is the mask itself", "distribution"),
    "one draw per column, in float64": Wrong(lambda m, r: m * (torch.rand(1, m.shape[1]) < r).to(m.dtype) if m.dtype == torch.float64
                                             else gain_hint(m, r), "revealed", "distribution"),
    "rate hard-coded": Wrong(lambda m, r: m * (torch.rand_like(m) < 0.9).to(m.dtype), "expected 30%", "value"),
    "reveal exactly the rate, by sorting": Wrong(lambda m, r: m * (torch.rand_like(m).flatten().argsort().argsort()
                                                                   < r * m.numel()).view(m.shape).to(m.dtype) * 0 + m * (
        torch.arange(m.numel()).view(m.shape) % 10 < r * 10).to(m.dtype), "in a", "distribution"),
    "one hint per row": Wrong(lambda m, r: (torch.rand(len(m)) < r).float(), "one hint per entry", "shapes"),
    "transposed": Wrong(lambda m, r: gain_hint(m, r).T, "one hint per entry", "shapes"),
    "hint written into the mask": Wrong(lambda m, r: m.copy_(gain_hint(m, r)), "changed in place", "state"),
    "B drawn on the cpu": Wrong(lambda m, r: m * (torch.rand(tuple(m.shape), device="cpu") < r).to(m.dtype), "device", "device"),
    "booleans": Wrong(lambda m, r: m.bool() & (torch.rand_like(m) < r), "float tensor", "crash"),
    "a numpy array": Wrong(lambda m, r: gain_hint(m, r).numpy(), "returned a ndarray", "crash"),
    "in place": Wrong(lambda m, r: m.mul_((torch.rand_like(m) < r).to(m.dtype)), "changed in place", "state"),
    "fixed device": Wrong(lambda m, r: m * (torch.rand(m.shape) < r).to(m.dtype), "device", "device"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
HINT_RIGHT = {"rand_like": gain_hint, "the package's": lambda m, r: gain.hint(m, r)[0],
              "bernoulli": lambda m, r: m * torch.bernoulli(torch.full_like(m, r)),
              "bernoulli of M times the rate": lambda m, r: torch.bernoulli(m * r),
              "where": lambda m, r: torch.where(torch.rand_like(m) < r, m, torch.zeros_like(m))}


@pytest.mark.parametrize("case", list(HINT_RIGHT))
def test_gain_hint_accepts(case, capsys):
    assert_passes(checks.check_gain_hint, HINT_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(HINT_WRONG))
def test_gain_hint_rejects(case, capsys):
    assert_rejects(checks.check_gain_hint, HINT_WRONG[case], capsys)


def test_gain_hint_independence_test_is_reliable():
    for seed in range(10):
        torch.manual_seed(seed)
        m = (torch.rand(2000, 10) < 0.8).double()
        assert _pairs_problem(gain_hint(m, 0.9).double(), m, 0.9) is None, seed


# --- the discriminator loss ----------------------------------------------------------------------------
def bce_none(logits, target):
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none")


GAIN_D_WRONG = {
    "swapped": Wrong(lambda l, m: bce_none(l, 1 - m).mean(), "targets swapped", "value"),
    "sign": Wrong(lambda l, m: -bce_none(l, m).mean(), "sign flipped", "value"),
    "sum": Wrong(lambda l, m: bce_none(l, m).sum(), "sum instead of mean", "value"),
    "mean per column, summed": Wrong(lambda l, m: bce_none(l, m).mean(0).sum(), "mean over every entry", "value"),
    "double sigmoid": Wrong(lambda l, m: bce_none(torch.sigmoid(l), m).mean(), "sigmoid applied twice", "value"),
    "missing only": Wrong(lambda l, m: (bce_none(l, m) * (1 - m)).mean(), "only the missing entries", "value"),
    "observed only": Wrong(lambda l, m: (bce_none(l, m) * m).mean(), "only the observed entries", "value"),
    "log of sigmoid": Wrong(lambda l, m: -(m * torch.log(torch.sigmoid(l)) + (1 - m) * torch.log(1 - torch.sigmoid(l))).mean(),
                            "work on logits", "extreme"),
    "log with eps": Wrong(lambda l, m: -(m * torch.log(torch.sigmoid(l) + 1e-8) + (1 - m) * torch.log(1 - torch.sigmoid(l) + 1e-8)).mean(),
                          "work on logits", "extreme"),
    "BCE on sigmoid": Wrong(lambda l, m: F.binary_cross_entropy(torch.sigmoid(l), m), "work on logits", "extreme"),
    "detached": Wrong(lambda l, m: bce_none(l, m).mean().detach(), "not connected", "extreme"),
    "in place sigmoid": Wrong(lambda l, m: F.binary_cross_entropy(l.sigmoid_(), m), "in place", "state"),
    "mask clamped in place": Wrong(lambda l, m: F.binary_cross_entropy_with_logits(l, m.clamp_(0.01, 0.99)), "in place", "state"),
    "weights of fixed dtype": Wrong(lambda l, m: F.binary_cross_entropy_with_logits(l, m, weight=torch.ones(m.shape[1])), "a tensor was made",
                                    "device"),
    "pos_weight on a fixed device": Wrong(lambda l, m: F.binary_cross_entropy_with_logits(l, m, pos_weight=torch.ones(m.shape[1],
                                                                                                                    dtype=m.dtype)),
                                          "device", "device"),
    "mean per row": Wrong(lambda l, m: bce_none(l, m).mean(1), "expected a scalar", "shapes"),
    "per entry": Wrong(lambda l, m: bce_none(l, m), "expected a scalar", "shapes"),
    "float": Wrong(lambda l, m: bce_none(l, m).mean().item(), "expected a tensor", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
GAIN_D_RIGHT = {"BCE with logits": lambda l, m: F.binary_cross_entropy_with_logits(l, m),
                "the package's, scoring every entry": lambda l, m: gain.discriminator_loss(l, m, torch.ones_like(m)),
                "softplus": lambda l, m: (m * F.softplus(-l) + (1 - m) * F.softplus(l)).mean(),
                "logsigmoid": lambda l, m: -(m * F.logsigmoid(l) + (1 - m) * F.logsigmoid(-l)).mean()}


@pytest.mark.parametrize("case", list(GAIN_D_RIGHT))
def test_gain_d_loss_accepts(case, capsys):
    assert_passes(checks.check_gain_discriminator_loss, GAIN_D_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(GAIN_D_WRONG))
def test_gain_d_loss_rejects(case, capsys):
    assert_rejects(checks.check_gain_discriminator_loss, GAIN_D_WRONG[case], capsys)


# --- the generator loss ------------------------------------------------------------------------------
def gain_g(l, m, x, x_bar, alpha, *, adv="imputed", rec="observed", divide=True, use_alpha=True, sign=1, detach=False):
    """A student's GAIN generator loss; each keyword away from its default is one typical mistake."""
    fooled = {"imputed": ((1 - m) * bce_none(l, torch.ones_like(m))).mean(),
              "all": bce_none(l, torch.ones_like(m)).mean(),
              "minimax": -((1 - m) * bce_none(l, torch.zeros_like(m))).mean(), "none": 0,
              "log sigmoid": -((1 - m) * torch.log(torch.sigmoid(l))).mean(),
              "eps": -((1 - m) * torch.log(torch.sigmoid(l) + 1e-8)).mean()}[adv]
    where = m if rec == "observed" else 1 - m
    x_bar = x_bar.detach() if detach else x_bar
    mse = ((where * x - where * x_bar) ** 2).mean() / (where.mean() if divide else 1)
    return fooled + sign * (alpha if use_alpha else 1) * mse


GAIN_G_WRONG = {
    "adversarial on all entries": Wrong(lambda *a: gain_g(*a, adv="all"), "only imputed ones", "value"),
    "reconstruction on missing": Wrong(lambda *a: gain_g(*a, rec="missing"), "reconstruction term is on the missing", "value"),
    "no division by mean(M)": Wrong(lambda *a: gain_g(*a, divide=False), "not divided by mean(M)", "value"),
    "no alpha": Wrong(lambda *a: gain_g(*a, use_alpha=False), "alpha is missing", "value"),
    "alpha hard-coded": Wrong(lambda l, m, x, xb, a: gain_g(l, m, x, xb, 10.0), "on a random batch", "value"),
    "alpha on the adversarial term": Wrong(lambda l, m, x, xb, a: a * gain_g(l, m, x, xb, 0) + gain_g(l, m, x, xb, 1, adv="none"),
                                           "alpha weights the adversarial term", "value"),
    "minus": Wrong(lambda *a: gain_g(*a, sign=-1), "subtracted", "value"),
    "minimax": Wrong(lambda *a: gain_g(*a, adv="minimax"), "saturates", "value"),
    "reconstruction only": Wrong(lambda *a: gain_g(*a, adv="none"), "adversarial term is missing", "value"),
    "absolute error": Wrong(lambda l, m, x, xb, a: gain_g(l, m, x, xb, 0) + a * (m * (x - xb)).abs().mean() / m.mean(),
                            "not squared", "value"),
    "x and x_bar mixed up with d_logits": Wrong(lambda l, m, x, xb, a: gain_g(xb, m, x, l, a), "on a random batch", "independent"),
    "log of sigmoid": Wrong(lambda *a: gain_g(*a, adv="log sigmoid"), "work on logits", "extreme"),
    "log with eps": Wrong(lambda *a: gain_g(*a, adv="eps"), "work on logits", "extreme"),
    "x_bar detached": Wrong(lambda *a: gain_g(*a, detach=True), "no gradient reaches x_bar", "extreme"),
    "per entry": Wrong(lambda l, m, x, xb, a: (1 - m) * bce_none(l, torch.ones_like(m)) + a * (m * (x - xb)) ** 2, "expected a scalar",
                       "shapes"),
    "x and x_bar swapped with the mask": Wrong(lambda l, m, x, xb, a: gain_g(l, m, xb, x, a) * 0 + gain_g(l, 1 - m, x, xb, a),
                                               "on a random batch", "independent"),
    "summed over entries": Wrong(lambda l, m, x, xb, a: gain_g(l, m, x, xb, a) * m.numel(), "on a random batch", "shapes"),
    "x_bar clamped in place": Wrong(lambda l, m, x, xb, a: gain_g(l, m, x, xb.clamp_(0, 1), a), "in place", "state"),
    "mask made binary in place": Wrong(lambda l, m, x, xb, a: gain_g(l, m.round_(), x, xb, a) + 0 * m.add_(0.0).mul_(1.0).sum() + 0 * x.mul_(1.001).sum(),
                                       "in place", "state"),
    "ones of fixed dtype": Wrong(lambda l, m, x, xb, a: ((1 - m) * bce_none(l, torch.ones(m.shape))).mean() + a * ((m * x - m * xb) ** 2).mean()
                                 / m.mean(), "a tensor was made", "device"),
    "ones on a fixed device": Wrong(lambda l, m, x, xb, a: ((1 - m) * bce_none(l, torch.ones(m.shape, dtype=m.dtype))).mean()
                                    + a * ((m * x - m * xb) ** 2).mean() / m.mean(), "device", "device"),
    "a pair of terms": Wrong(lambda *a: (gain_g(*a, adv="none"), gain_g(*a, use_alpha=False)), "expected a tensor", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
GAIN_G_RIGHT = {"written out": gain_g,
                "the package's, scoring every entry": lambda l, m, x, xb, a: gain.generator_loss(l, m, torch.ones_like(m), x, xb, a)[0],
                "softplus and mse_loss": lambda l, m, x, xb, a: ((1 - m) * F.softplus(-l)).mean()
                + a * F.mse_loss(m * xb, m * x) / m.mean()}


@pytest.mark.parametrize("case", list(GAIN_G_RIGHT))
def test_gain_g_loss_accepts(case, capsys):
    assert_passes(checks.check_gain_generator_loss, GAIN_G_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(GAIN_G_WRONG))
def test_gain_g_loss_rejects(case, capsys):
    assert_rejects(checks.check_gain_generator_loss, GAIN_G_WRONG[case], capsys)
