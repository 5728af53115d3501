"""Lecture 8's self-checks: the least-squares and hinge losses, the WGAN-GP gradient penalty."""
import pytest
import torch
import torch.nn.functional as F

from gancourse import checks
from gancourse.losses import gradient_penalty, hinge_discriminator_loss, lsgan_discriminator_loss, lsgan_generator_loss
from tests.check_answers import Wrong, assert_passes, assert_rejects, not_done

LD, LG = lsgan_discriminator_loss, lsgan_generator_loss
ones, zeros = torch.ones_like, torch.zeros_like

# --- least squares: (d_loss, g_loss) pairs -------------------------------------------------------------
LSGAN_WRONG = {
    "targets swapped": Wrong((lambda r, f: (r ** 2).mean() + ((f - 1) ** 2).mean(), LG), "targets swapped", "value"),
    "slide's minus": Wrong((lambda r, f: ((r - 1) ** 2).mean() - (f ** 2).mean(), LG), "minus between the terms", "value"),
    "absolute error": Wrong((lambda r, f: (r - 1).abs().mean() + f.abs().mean(), LG), "not squared", "value"),
    "G target 0": Wrong((LD, lambda f: (f ** 2).mean()), "target 0", "value"),
    "G as WGAN": Wrong((LD, lambda f: -f.mean()), "the sign of a WGAN generator", "value"),
    "sigmoid first": Wrong((lambda r, f: LD(torch.sigmoid(r), torch.sigmoid(f)), LG), "a sigmoid squashes", "extreme"),
    "clamped scores": Wrong((lambda r, f: LD(r.clamp(-10, 10), f.clamp(-10, 10)), LG), "at logits of", "extreme"),
    "G detached": Wrong((LD, lambda f: LG(f).detach()), "not connected", "extreme"),
    "real twice": Wrong((lambda r, f: ((r - 1) ** 2).mean() + (r ** 2).mean(), LG), "on a random batch", "independent"),
    "fake twice": Wrong((lambda r, f: ((f - 1) ** 2).mean() + (f ** 2).mean(), LG), "on a random batch", "independent"),
    "summed": Wrong((lambda r, f: ((r - 1) ** 2).sum() + (f ** 2).sum(), LG), "on a random batch", "shapes"),
    "first sample only": Wrong((lambda r, f: (r[0] - 1) ** 2 + f[0] ** 2, LG), "on a random batch", "shapes"),
    "in place": Wrong((lambda r, f: (r.sub_(1) ** 2).mean() + (f ** 2).mean(), LG), "in place", "state"),
    "in place G": Wrong((LD, lambda f: (f.sub_(1) ** 2).mean()), "in place", "state"),
    "float32 forced": Wrong((lambda r, f: LD(r.float(), f.float()), LG), "float64", "device"),
    "ones on the cpu": Wrong((lambda r, f: F.mse_loss(r, torch.ones(r.shape)) + F.mse_loss(f, torch.zeros(f.shape)), LG),
                             "device", "device"),
    "python float": Wrong((lambda r, f: LD(r, f).item(), LG), "a tensor", "crash"),
    "numpy": Wrong((lambda r, f: LD(r, f).detach().numpy(), LG), "a tensor", "crash"),
}
LSGAN_RIGHT = {
    "reference": (LD, LG),
    "mse_loss": (lambda r, f: F.mse_loss(r, ones(r)) + F.mse_loss(f, zeros(f)), lambda f: F.mse_loss(f, ones(f))),
    "Mao's halves": (lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean(), lambda f: 0.5 * ((f - 1) ** 2).mean()),
    "pow and square": (lambda r, f: (r - 1).pow(2).mean() + f.square().mean(), lambda f: torch.square(f - 1).mean()),
}

# --- hinge ------------------------------------------------------------------------------------------------
HINGE_WRONG = {
    "no max": Wrong(lambda r, f: (1 - r).mean() + (1 + f).mean(), "no max(0, .)", "value"),
    "margins swapped": Wrong(lambda r, f: F.relu(1 + r).mean() + F.relu(1 - f).mean(), "margins swapped", "value"),
    "max after mean": Wrong(lambda r, f: F.relu(1 - r.mean()) + F.relu(1 + f.mean()), "on a random batch", "value"),
    "no margin": Wrong(lambda r, f: F.relu(-r).mean() + F.relu(f).mean(), "on a random batch", "value"),
    "sigmoid first": Wrong(lambda r, f: hinge_discriminator_loss(torch.sigmoid(r), torch.sigmoid(f)), "a sigmoid squashes", "value"),
    "clamped": Wrong(lambda r, f: hinge_discriminator_loss(r.clamp(-10, 10), f.clamp(-10, 10)), "at logits of", "extreme"),
    "detached": Wrong(lambda r, f: hinge_discriminator_loss(r, f).detach(), "not connected", "extreme"),
    "real twice": Wrong(lambda r, f: F.relu(1 - r).mean() + F.relu(1 + r).mean(), "on a random batch", "independent"),
    "fake term on real": Wrong(lambda r, f: F.relu(1 - f).mean() + F.relu(1 + f).mean(), "on a random batch", "independent"),
    "summed": Wrong(lambda r, f: F.relu(1 - r).sum() + F.relu(1 + f).sum(), "on a random batch", "shapes"),
    "per-sample vector": Wrong(lambda r, f: F.relu(1 - r) + F.relu(1 + f), "scalar", "shapes"),
    "in place": Wrong(lambda r, f: F.relu(r.neg_().add_(1)).mean() + F.relu(1 + f).mean(), "in place", "state"),
    "relu_ in place": Wrong(lambda r, f: (1 - r).relu_().mean() + F.relu_(f.add_(1)).mean(), "in place", "state"),
    "float32 forced": Wrong(lambda r, f: hinge_discriminator_loss(r.float(), f.float()), "float64", "device"),
    "zeros on the cpu": Wrong(lambda r, f: torch.maximum(1 - r, torch.zeros(r.shape)).mean()
                              + torch.maximum(1 + f, torch.zeros(f.shape)).mean(), "device", "device"),
    "python float": Wrong(lambda r, f: float(hinge_discriminator_loss(r, f)), "a tensor", "crash"),
    "tuple": Wrong(lambda r, f: (F.relu(1 - r).mean(), F.relu(1 + f).mean()), "a tensor", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
HINGE_RIGHT = {
    "reference": hinge_discriminator_loss,
    "clamp": lambda r, f: torch.clamp(1 - r, min=0).mean() + torch.clamp(1 + f, min=0).mean(),
    "maximum": lambda r, f: torch.maximum(1 - r, zeros(r)).mean() + torch.maximum(1 + f, zeros(f)).mean(),
    "where": lambda r, f: torch.where(r < 1, 1 - r, zeros(r)).mean() + torch.where(f > -1, 1 + f, zeros(f)).mean(),
}


# --- the gradient penalty -----------------------------------------------------------------------------------
def gp(eps_shape=None, reduce="sum", norm="sample", minus=1.0, square=True, graph=True, where="interpolate"):
    """A gradient penalty with one thing changed (the defaults give the right one)."""
    def fn(D, x_real, x_fake):
        shape = eps_shape(x_real) if eps_shape else (len(x_real),) + (1,) * (x_real.dim() - 1)
        eps = torch.rand(shape, dtype=x_real.dtype, device=x_real.device)
        x_hat = {"interpolate": eps * x_real + (1 - eps) * x_fake, "real": x_real, "fake": x_fake}[where]
        x_hat = x_hat.detach().requires_grad_(True)
        out = D(x_hat)
        (grad,) = torch.autograd.grad(out.sum() if reduce == "sum" else out.mean(), x_hat, create_graph=graph)
        size = grad.flatten(1).norm(dim=1) if norm == "sample" else grad.norm()
        gap = size - minus
        return (gap ** 2 if square else gap.abs()).mean()
    return fn


def gp_in_place(D, x_real, x_fake):
    eps = torch.rand(len(x_real), 1, 1, 1)
    x_real.mul_(eps).add_((1 - eps) * x_fake)  # reuses the caller's tensor
    return gp()(D, x_real, x_real)


GP_WRONG = {
    "one norm for the batch": Wrong(gp(norm="batch"), "the norm is per sample", "value"),
    "mean instead of sum": Wrong(gp(reduce="mean"), "not .mean()", "value"),
    "no minus one": Wrong(gp(minus=0.0), "the penalty is 4", "value"),
    "not squared": Wrong(gp(square=False), "the penalty is 4", "value"),
    "no create_graph": Wrong(gp(graph=False), "not connected to D's weights", "extreme"),
    "eps per pixel": Wrong(gp(eps_shape=lambda x: x.shape), "not on the segments", "distribution"),
    "one eps for all": Wrong(gp(eps_shape=lambda x: (1,)), "every sample got the same eps", "distribution"),
    "at the reals (R1)": Wrong(gp(where="real"), "not taken between the real and the fake", "value"),
    "at the fakes": Wrong(gp(where="fake"), "not taken between the real and the fake", "value"),
    "eps for 2-D only": Wrong(gp(eps_shape=lambda x: (len(x), 1)), "raised RuntimeError", "shapes"),
    "fixed eps shape": Wrong(gp(eps_shape=lambda x: (8, 1, 1, 1)), "raised RuntimeError", "shapes"),
    "changes x_real": Wrong(gp_in_place, "changed in place", "state"),
    "returns a float": Wrong(lambda D, r, f: gradient_penalty(D, r, f).item(), "a tensor", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}


def gp_grad_outputs(D, x_real, x_fake):
    eps = torch.rand(x_real.shape[0], *[1] * (x_real.dim() - 1), device=x_real.device)
    x_hat = x_fake + eps * (x_real - x_fake)
    x_hat.requires_grad_()
    out = D(x_hat)
    grad = torch.autograd.grad(out, x_hat, grad_outputs=torch.ones_like(out), create_graph=True)[0]
    return ((grad.reshape(len(grad), -1).pow(2).sum(1).sqrt() - 1) ** 2).mean()


def gp_loop(D, x_real, x_fake):
    terms = []
    for r, f in zip(x_real, x_fake):
        eps = torch.rand(())
        x_hat = (eps * r + (1 - eps) * f).unsqueeze(0).requires_grad_(True)
        (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
        terms.append((grad.norm() - 1) ** 2)
    return torch.stack(terms).mean()


GP_RIGHT = {"reference": gradient_penalty, "grad_outputs": gp_grad_outputs, "a loop": gp_loop,
            "eps then 1 - eps": lambda D, r, f: gp()(D, f, r)}  # eps and 1 - eps are both U[0, 1]


@pytest.mark.parametrize("case", LSGAN_RIGHT)
def test_lsgan_accepts(case, capsys):
    assert_passes(checks.check_lsgan_losses, LSGAN_RIGHT[case], capsys)


@pytest.mark.parametrize("case", LSGAN_WRONG)
def test_lsgan_rejects(case, capsys):
    assert_rejects(checks.check_lsgan_losses, LSGAN_WRONG[case], capsys)


@pytest.mark.parametrize("case", HINGE_RIGHT)
def test_hinge_accepts(case, capsys):
    assert_passes(checks.check_hinge_discriminator_loss, HINGE_RIGHT[case], capsys)


@pytest.mark.parametrize("case", HINGE_WRONG)
def test_hinge_rejects(case, capsys):
    assert_rejects(checks.check_hinge_discriminator_loss, HINGE_WRONG[case], capsys)


@pytest.mark.parametrize("case", GP_RIGHT)
def test_gradient_penalty_accepts(case, capsys):
    assert_passes(checks.check_gradient_penalty, GP_RIGHT[case], capsys)


@pytest.mark.parametrize("case", GP_WRONG)
def test_gradient_penalty_rejects(case, capsys):
    assert_rejects(checks.check_gradient_penalty, GP_WRONG[case], capsys)
