"""Lecture 10's self-checks: the VAE's loss and reparameterisation, the gradient-ascent step, the
Laplacian-variance sharpness."""
import math

import pytest
import torch
import torch.nn.functional as F

from gancourse import checks
from gancourse.energy import ascent_step
from gancourse.metrics import laplacian_variance
from gancourse.models.vae import reparameterize, vae_loss
from tests.check_answers import Wrong, assert_passes, assert_rejects, not_done

R = reparameterize


def loss(pixel_mean=False, batch_sum=False, kl_sign=1.0, kl_half=0.5, sigma_power=2, two=2.0, kl_mu_only=False):
    def fn(x, x_hat, mu, logvar, sigma):
        sq = (x - x_hat).pow(2).flatten(1)
        recon = (sq.mean(1) if pixel_mean else sq.sum(1)) / (two * sigma ** sigma_power)
        kl = (0.5 * mu.pow(2).flatten(1).sum(1) if kl_mu_only else
              -kl_half * (1 + logvar - mu.pow(2) - logvar.exp()).flatten(1).sum(1))
        total = recon + kl_sign * kl
        return total.sum() if batch_sum else total.mean()
    return fn


VAE_WRONG = {
    "mean over pixels": Wrong((loss(pixel_mean=True), R), "SUM over an image's pixels", "value"),
    "summed over the batch": Wrong((loss(batch_sum=True), R), "average over the batch", "value"),
    "KL subtracted": Wrong((loss(kl_sign=-1.0), R), "the KL is added", "value"),
    "KL factor 1": Wrong((loss(kl_half=1.0), R), "factor is -1/2", "value"),
    "no sigma": Wrong((loss(sigma_power=0), R), "not left unscaled", "value"),
    "sigma not squared": Wrong((loss(sigma_power=1), R), "not 2 sigma", "value"),
    "no 2": Wrong((loss(two=1.0), R), "has a 2", "value"),
    "KL of the mean only": Wrong((loss(kl_mu_only=True), R), "also depends on the variance", "value"),
    "mse_loss default": Wrong((lambda x, xh, m, lv, s: F.mse_loss(xh, x) / (2 * s ** 2)
                               - 0.5 * (1 + lv - m ** 2 - lv.exp()).sum(1).mean(), R), "SUM over", "value"),
    "recon on x twice": Wrong((lambda x, xh, m, lv, s: vae_loss(x, x.flip(0), m, lv, s), R), "on a random batch", "independent"),
    "logvar detached": Wrong((lambda x, xh, m, lv, s: vae_loss(x, xh, m, lv.detach(), s), R), "no gradient reaches logvar", "extreme"),
    "x_hat detached": Wrong((lambda x, xh, m, lv, s: vae_loss(x, xh.detach(), m, lv, s), R), "no gradient reaches x_hat", "extreme"),
    "item": Wrong((lambda *a: vae_loss(*a).item(), R), "a tensor", "crash"),
    "in place": Wrong((lambda x, xh, m, lv, s: vae_loss(x, xh.sub_(0), m, lv.mul_(1.0).add_(0.0), s) if False else
                       vae_loss(x.sub_(xh).add_(xh), xh, m, lv, s), R), "in place", "state"),
    "float32 forced": Wrong((lambda *a: vae_loss(*[t.float() if torch.is_tensor(t) else t for t in a]), R),
                            "float64", "device"),
    "not done": Wrong((not_done, R), "not implemented yet", "crash"),
    # the reparameterisation
    "no noise": Wrong((vae_loss, lambda m, lv: m + 0 * lv), "no noise was added", "distribution"),
    "exp(logvar) as std": Wrong((vae_loss, lambda m, lv: m + lv.exp() * torch.randn_like(m)), "exp(logvar / 2), not exp(logvar)", "distribution"),
    "logvar as std": Wrong((vae_loss, lambda m, lv: m + lv * torch.randn_like(m)), "std", "distribution"),
    "uniform noise": Wrong((vae_loss, lambda m, lv: m + (0.5 * lv).exp() * (torch.rand_like(m) * 2 - 1) * math.sqrt(3)),
                           "standard normal", "distribution"),
    "one eps for the batch": Wrong((vae_loss, lambda m, lv: m + (0.5 * lv).exp() * torch.randn_like(m[:1])), "same noise", "independent"),
    "one eps per sample": Wrong((vae_loss, lambda m, lv: m + (0.5 * lv).exp() * torch.randn_like(m[:, :1])), "share their noise", "independent"),
    "torch.normal": Wrong((vae_loss, lambda m, lv: torch.normal(m, (0.5 * lv).exp())), "torch.normal(mu, std) passes", "extreme"),
    "std detached": Wrong((vae_loss, lambda m, lv: m + (0.5 * lv).exp().detach() * torch.randn_like(m)), "does not learn", "extreme"),
    "mu detached": Wrong((vae_loss, lambda m, lv: m.detach() + (0.5 * lv).exp() * torch.randn_like(m)), "dz/dmu", "extreme"),
    "eps on the cpu": Wrong((vae_loss, lambda m, lv: m + (0.5 * lv).exp() * torch.randn(m.shape)), "device", "device"),
    "reparameterize not done": Wrong((vae_loss, not_done), "not implemented yet", "crash"),
}
VAE_RIGHT = {
    "reference": (vae_loss, R),
    "with the log-normaliser": (lambda x, xh, m, lv, s: vae_loss(x, xh, m, lv, s)
                                + x[0].numel() * (math.log(s) + 0.5 * math.log(2 * math.pi)), R),
    "mse_loss sum": (lambda x, xh, m, lv, s: F.mse_loss(xh, x, reduction="sum") / (2 * s * s) / len(x)
                     + 0.5 * (m.pow(2) + lv.exp() - 1 - lv).sum() / len(x),
                     lambda m, lv: torch.randn_like(m).mul(torch.exp(lv / 2)).add(m)),
    "std and var": (lambda x, xh, m, lv, s: ((x - xh) ** 2).sum((1, 2, 3)).mean() / 2 / s ** 2
                    + (0.5 * (m ** 2 + torch.exp(lv) - lv - 1)).sum(1).mean(),
                    lambda m, lv: m + torch.sqrt(torch.exp(lv)) * torch.normal(torch.zeros_like(m), torch.ones_like(m))),
}


@pytest.mark.parametrize("case", VAE_WRONG)
def test_vae_check_rejects(case, capsys):
    assert_rejects(checks.check_vae_loss, VAE_WRONG[case], capsys)


@pytest.mark.parametrize("case", VAE_RIGHT)
def test_vae_check_accepts(case, capsys):
    assert_passes(checks.check_vae_loss, VAE_RIGHT[case], capsys)


# --- the gradient-ascent step -------------------------------------------------------------------------
def grad_of(D, x, reduce="sum"):
    x = x.detach().requires_grad_(True)
    out = D(x)
    return torch.autograd.grad(out.sum() if reduce == "sum" else out.mean(), x)[0]


def backward_step(D, x, s):
    x = x.detach().requires_grad_(True)
    D(x).sum().backward()
    return (x + s * x.grad).clamp(-1, 1).detach()


def in_place(D, x, s):
    x.requires_grad_(True)
    g = torch.autograd.grad(D(x).sum(), x)[0]
    x.requires_grad_(False)
    return x.add_(s * g).clamp_(-1, 1)


ASCENT_WRONG = {
    "descent": Wrong(lambda D, x, s: (x - s * grad_of(D, x)).clamp(-1, 1), "descent step", "value"),
    "mean": Wrong(lambda D, x, s: (x + s * grad_of(D, x, "mean")).clamp(-1, 1), "D(x).sum()", "value"),
    "sign": Wrong(lambda D, x, s: (x + s * grad_of(D, x).sign()).clamp(-1, 1), "not its sign", "value"),
    "normalised": Wrong(lambda D, x, s: (x + s * (g := grad_of(D, x)) / g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)).clamp(-1, 1),
                        "divided by its norm", "value"),
    "no clamp": Wrong(lambda D, x, s: x + s * grad_of(D, x), "clamp", "value"),
    "graph kept": Wrong(lambda D, x, s: (x.detach().requires_grad_(True) + 0).pipe if False else
                        (lambda xx: (xx + s * torch.autograd.grad(D(xx).sum(), xx, create_graph=True)[0]).clamp(-1, 1))(
                            x.detach().requires_grad_(True)), "graph", "state"),
    "backward into D": Wrong(backward_step, "gradients were changed", "state"),
    "in place": Wrong(in_place, "in place", "state"),
    "two calls": Wrong(lambda D, x, s: (D(x), ascent_step(D, x, s))[1], "called 2 times", "state"),
    "train mode": Wrong(lambda D, x, s: (D.train(), ascent_step(D, x, s))[1], "mode", "state"),
    "item": Wrong(lambda D, x, s: ascent_step(D, x, s).tolist(), "expected a tensor", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
ASCENT_RIGHT = {
    "reference": ascent_step,
    "backward on a leaf copy": lambda D, x, s: (lambda xx: (torch.autograd.backward(D(xx).sum(), inputs=[xx]),
                                                            (xx + s * xx.grad).clamp(-1, 1).detach())[1])(x.detach().clone().requires_grad_(True)),
    "torch.clip with no_grad": lambda D, x, s: torch.clip(x + s * grad_of(D, x), min=-1.0, max=1.0).detach(),
}


@pytest.mark.parametrize("case", ASCENT_WRONG)
def test_ascent_check_rejects(case, capsys):
    assert_rejects(checks.check_ascent_step, ASCENT_WRONG[case], capsys)


@pytest.mark.parametrize("case", ASCENT_RIGHT)
def test_ascent_check_accepts(case, capsys):
    assert_passes(checks.check_ascent_step, ASCENT_RIGHT[case], capsys)


# --- the Laplacian's variance -------------------------------------------------------------------------
K4 = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def lap(x, padding=0, kernel=K4):
    return F.conv2d(x, kernel.to(x).view(1, 1, 3, 3), padding=padding)


SHARP_WRONG = {
    "padded": Wrong(lambda x: lap(x, 1).flatten(1).var(1), "no padding", "value"),
    "image variance": Wrong(lambda x: x.flatten(1).var(1), "not of the image itself", "value"),
    "mean": Wrong(lambda x: lap(x).flatten(1).mean(1), "not its mean", "value"),
    "mean abs": Wrong(lambda x: lap(x).abs().flatten(1).mean(1), "mean of its absolute value", "value"),
    "8-neighbour": Wrong(lambda x: lap(x, kernel=torch.tensor([[1.0, 1, 1], [1, -8, 1], [1, 1, 1]])).flatten(1).var(1),
                         "8-neighbour", "value"),
    "one direction": Wrong(lambda x: lap(x, kernel=torch.tensor([[0.0, 0, 0], [1, -2, 1], [0, 0, 0]])).flatten(1).var(1),
                           "both directions", "value"),
    "over the batch": Wrong(lambda x: lap(x).var(), "one number per image", "shapes"),
    "std": Wrong(lambda x: lap(x).flatten(1).std(1), "expected", "value"),
    "float32 kernel": Wrong(lambda x: F.conv2d(x.float(), K4.view(1, 1, 3, 3)).flatten(1).var(1), "float64", "device"),
    "kernel on the cpu": Wrong(lambda x: F.conv2d(x, K4.view(1, 1, 3, 3).to(x.dtype)).flatten(1).var(1), "device", "device"),
    "in place": Wrong(lambda x: lap(x.mul_(1.0).add_(x.sign() * 0)).flatten(1).var(1) if False else
                      lap(x.clamp_(-0.9, 0.9)).flatten(1).var(1), "in place", "state"),
    "numpy": Wrong(lambda x: lap(x).flatten(1).var(1).numpy(), "tensor", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
SHARP_RIGHT = {
    "reference": laplacian_variance,
    "biased variance": lambda x: lap(x).flatten(1).var(1, unbiased=False),
    "by hand with slices": lambda x: (x[..., :-2, 1:-1] + x[..., 2:, 1:-1] + x[..., 1:-1, :-2] + x[..., 1:-1, 2:]
                                      - 4 * x[..., 1:-1, 1:-1]).flatten(1).var(1),
    "torch.var_mean": lambda x: torch.var_mean(lap(x).flatten(1), dim=1)[0],
}


@pytest.mark.parametrize("case", SHARP_WRONG)
def test_sharpness_check_rejects(case, capsys):
    assert_rejects(checks.check_laplacian_variance, SHARP_WRONG[case], capsys)


@pytest.mark.parametrize("case", SHARP_RIGHT)
def test_sharpness_check_accepts(case, capsys):
    assert_passes(checks.check_laplacian_variance, SHARP_RIGHT[case], capsys)


# --- answers an independent reviewer wrote to get past the checks ---------------------------------------
def _kl(m, lv):
    return -0.5 * (1 + lv - m ** 2 - lv.exp()).flatten(1).sum(1)


def _reseeded(m, lv):
    torch.manual_seed(0)
    return m + (0.5 * lv).exp() * torch.randn_like(m)


def _frozen_backward(D, x, s):
    D.requires_grad_(False)
    x = x.detach().requires_grad_(True)
    D(x).sum().backward()
    return (x + s * x.grad).clamp(-1, 1).detach()


def _backward_then_zero(D, x, s):
    x = x.detach().requires_grad_(True)
    D(x).sum().backward()
    g = x.grad
    D.zero_grad()
    return (x + s * g).clamp(-1, 1).detach()


def _callers_x_requires_grad(D, x, s):
    x.requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x)
    return (x + s * g).clamp(-1, 1).detach()


def _eval_inside(D, x, s):
    D.eval()
    return ascent_step(D, x, s)


REVIEW_WRONG = {
    "vae: sum over H, W only": (checks.check_vae_loss, Wrong((lambda x, xh, m, lv, s: ((x - xh) ** 2).sum((2, 3)).mean()
                                                             / (2 * s ** 2) + _kl(m, lv).mean(), R), "on a random batch", "shapes")),
    "vae: x_hat clamped": (checks.check_vae_loss, Wrong((lambda x, xh, m, lv, s: vae_loss(x, xh.clamp(-1, 1), m, lv, s), R),
                                                        "on a random batch", "value")),
    "vae: reseeded eps": (checks.check_vae_loss, Wrong((vae_loss, _reseeded), "not fresh", "distribution")),
    "vae: truncated eps": (checks.check_vae_loss, Wrong((vae_loss, lambda m, lv: m + (0.5 * lv).exp() * torch.randn_like(m).clamp(-2, 2)),
                                                        "standard normal", "distribution")),
    "vae: eps scaled 0.95": (checks.check_vae_loss, Wrong((vae_loss, lambda m, lv: m + 0.95 * (0.5 * lv).exp() * torch.randn_like(m)),
                                                          "standard normal", "distribution")),
    "vae: antithetic halves": (checks.check_vae_loss, Wrong((vae_loss, lambda m, lv: m + (0.5 * lv).exp() * torch.cat(
        [e := torch.randn_like(m[: len(m) // 2]), -e])), "repeats", "independent")),
    "vae: z on the cpu": (checks.check_vae_loss, Wrong((vae_loss, lambda m, lv: (m + (0.5 * lv).exp() * torch.randn_like(m)).cpu()),
                                                       "moved to the CPU", "device")),
    "vae: eps in float64": (checks.check_vae_loss, Wrong((vae_loss, lambda m, lv: m + (0.5 * lv).exp() * torch.randn(m.shape, dtype=torch.float64)),
                                                         "dtype", "device")),
    "ascent: frozen D": (checks.check_ascent_step, Wrong(_frozen_backward, "no longer require gradients", "state")),
    "ascent: zero_grad": (checks.check_ascent_step, Wrong(_backward_then_zero, "gradients were changed", "state")),
    "ascent: caller's x requires grad": (checks.check_ascent_step, Wrong(_callers_x_requires_grad, "now requires a gradient", "state")),
    "ascent: D.eval() inside": (checks.check_ascent_step, Wrong(_eval_inside, "mode was changed", "state")),
    "ascent: cpu result": (checks.check_ascent_step, Wrong(lambda D, x, s: ascent_step(D, x, s).cpu(), "moved to the CPU", "device")),
    "ascent: float forced": (checks.check_ascent_step, Wrong(lambda D, x, s: ascent_step(D, x.float(), s), "float64", "device")),
    "sharp: squeeze breaks N=1": (checks.check_laplacian_variance, Wrong(lambda x: lap(x).squeeze().flatten(1).var(1), "(1,)", "shapes")),
    "sharp: float32 inside": (checks.check_laplacian_variance, Wrong(lambda x: lap(x.float()).flatten(1).var(1).to(x.dtype), "float32", "device")),
    "sharp: clamp_ in place": (checks.check_laplacian_variance, Wrong(lambda x: lap(x.clamp_(-1, 1)).flatten(1).var(1), "in place", "state")),
}
REVIEW_RIGHT = {
    "vae: Normal.rsample and gaussian_nll_loss(full=True)": (checks.check_vae_loss, (
        lambda x, xh, m, lv, s: F.gaussian_nll_loss(xh, x, torch.full_like(x, s * s), full=True, reduction="sum") / len(x)
        + _kl(m, lv).mean(),
        lambda m, lv: torch.distributions.Normal(m, (0.5 * lv).exp()).rsample())),
    "sharp: nn.Conv2d moved to the images": (checks.check_laplacian_variance, lambda x: (
        lambda c: (c.weight.data.copy_(K4.view(1, 1, 3, 3)), c.to(x)(x).flatten(1).var(1).detach())[1])(
            torch.nn.Conv2d(1, 1, 3, bias=False))),
    "ascent: torch.func.grad": (checks.check_ascent_step, lambda D, x, s: (
        x + s * torch.func.grad(lambda y: D(y).sum())(x.detach())).clamp(-1, 1).detach()),
}


@pytest.mark.parametrize("case", REVIEW_WRONG)
def test_reviewers_wrong_answers_are_rejected(case, capsys):
    check, wrong = REVIEW_WRONG[case]
    assert_rejects(check, wrong, capsys)


@pytest.mark.parametrize("case", REVIEW_RIGHT)
def test_reviewers_right_answers_pass(case, capsys):
    check, answer = REVIEW_RIGHT[case]
    assert_passes(check, answer, capsys)
