"""Every self-check passes the solution and rejects its catalogue of typical wrong answers."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gancourse import checks
from gancourse.losses import discriminator_loss, generator_loss_nonsaturating
from gancourse.models.mlp import MLPGenerator
from gancourse.train import discriminator_step


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def not_done(*args):
    raise NotImplementedError("Exercise 1.1: ...")


def assert_rejects(check, answer, message, capsys):
    if answer is not_done:  # an untouched exercise: FAIL, then its NotImplementedError propagates
        with pytest.raises(NotImplementedError, match="Exercise 1.1"):
            check(answer)
    else:
        assert check(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("[FAIL]") and " - hint: " in out, out
    assert message in out, out


def assert_passes(check, answer, capsys):
    assert check(answer) is True
    assert capsys.readouterr().out.startswith("[PASS]")


# --- the discriminator loss -------------------------------------------------------------------
D_LOSS_WRONG = {
    "sign flipped": (lambda r, f: -(bce(r, 1) + bce(f, 0)), "sign flipped"),
    "labels swapped": (lambda r, f: bce(r, 0) + bce(f, 1), "labels swapped"),
    "sigmoid twice": (lambda r, f: bce(torch.sigmoid(r), 1) + bce(torch.sigmoid(f), 0), "sigmoid applied twice"),
    "sum not mean": (lambda r, f: F.binary_cross_entropy_with_logits(r, torch.ones_like(r), reduction="sum")
                     + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f), reduction="sum"), "summed over the batch"),
    "terms averaged": (lambda r, f: (bce(r, 1) + bce(f, 0)) / 2, "the two terms were averaged"),
    "no fake term": (lambda r, f: bce(r, 1), "the fake term is missing"),
    "no real term": (lambda r, f: bce(f, 0), "the real term is missing"),
    "log of sigmoid": (lambda r, f: -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()),
                       "never torch.log(torch.sigmoid(x))"),
    "BCELoss on logits": (lambda r, f: F.binary_cross_entropy(r, torch.ones_like(r)) + F.binary_cross_entropy(f, torch.zeros_like(f)),
                          "raised"),
    "returns a float": (lambda r, f: (bce(r, 1) + bce(f, 0)).item(), "expected a tensor"),
    "no mean": (lambda r, f: F.binary_cross_entropy_with_logits(r, torch.ones_like(r), reduction="none")
                + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f), reduction="none"), "expected a scalar"),
    "not done": (not_done, "not implemented yet"),
}


def test_discriminator_loss_solution_passes(capsys):
    assert_passes(checks.check_discriminator_loss, discriminator_loss, capsys)


@pytest.mark.parametrize("case", list(D_LOSS_WRONG))
def test_discriminator_loss_rejects(case, capsys):
    answer, message = D_LOSS_WRONG[case]
    assert_rejects(checks.check_discriminator_loss, answer, message, capsys)


# --- the non-saturating generator loss ---------------------------------------------------------
G_LOSS_WRONG = {
    "minimax instead": (lambda f: -F.softplus(f).mean(), "this is the minimax loss"),
    "sign flipped": (lambda f: -bce(f, 1), "sign flipped"),
    "target 0": (lambda f: bce(f, 0), "target 0"),
    "sigmoid twice": (lambda f: bce(torch.sigmoid(f), 1), "sigmoid applied twice"),
    "sum not mean": (lambda f: F.binary_cross_entropy_with_logits(f, torch.ones_like(f), reduction="sum"), "summed"),
    "log of sigmoid": (lambda f: -torch.log(torch.sigmoid(f)).mean(), "never torch.log(torch.sigmoid(x))"),
    "not done": (not_done, "not implemented yet"),
}


def test_generator_loss_solution_passes(capsys):
    assert_passes(checks.check_generator_loss_nonsaturating, generator_loss_nonsaturating, capsys)


@pytest.mark.parametrize("case", list(G_LOSS_WRONG))
def test_generator_loss_rejects(case, capsys):
    answer, message = G_LOSS_WRONG[case]
    assert_rejects(checks.check_generator_loss_nonsaturating, answer, message, capsys)


# --- the discriminator step --------------------------------------------------------------------
def step_variant(detach=True, zero_grad=True, step=True, swap=False, also_g=False, floats=True):
    def d_step(G, D, batch, opt_d, d_loss):
        x_real, _ = batch
        z = torch.randn(len(x_real), G.latent_dim)
        x_fake = G(z).detach() if detach else G(z)
        real_logits, fake_logits = D(x_real), D(x_fake)
        loss = d_loss(fake_logits, real_logits) if swap else d_loss(real_logits, fake_logits)
        if zero_grad:
            opt_d.zero_grad()
        loss.backward()
        if step:
            opt_d.step()
        if also_g:
            with torch.no_grad():
                for p in G.parameters():
                    p -= 0.1
        d_real, d_fake = torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean()
        if floats:
            return {"loss_d": loss.item(), "d_real": d_real.item(), "d_fake": d_fake.item()}
        return {"loss_d": loss, "d_real": d_real, "d_fake": d_fake}
    return d_step


D_STEP_WRONG = {
    "missing detach": (step_variant(detach=False), "gradients reached G's parameters"),
    "missing zero_grad": (step_variant(zero_grad=False), "call opt_d.zero_grad()"),
    "missing opt.step": (step_variant(step=False), "D's weights did not change"),
    "labels swapped": (step_variant(swap=True), "differs from the reference"),
    "updates G too": (step_variant(also_g=True), "G's weights changed"),
    "tensors not floats": (step_variant(floats=False), "not Python floats"),
    "not done": (not_done, "not implemented yet"),
}


def test_discriminator_step_solution_passes(capsys):
    assert_passes(checks.check_discriminator_step, discriminator_step, capsys)
    assert_passes(checks.check_discriminator_step, step_variant(), capsys)


@pytest.mark.parametrize("case", list(D_STEP_WRONG))
def test_discriminator_step_rejects(case, capsys):
    answer, message = D_STEP_WRONG[case]
    assert_rejects(checks.check_discriminator_step, answer, message, capsys)


# --- the MLP generator ---------------------------------------------------------------------------
def mlp(final=nn.Tanh, bn=lambda n: nn.BatchNorm1d(n, momentum=0.2), act=lambda: nn.LeakyReLU(0.2),
        sizes=(100, 128, 256, 512, 1024, 784), flat=False):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-2], sizes[1:-1])):
        layers += [nn.Linear(a, b)] + ([bn(b)] if i > 0 else []) + [act()]
    layers += [nn.Linear(sizes[-2], sizes[-1])] + ([final()] if final else [])
    net = nn.Sequential(*layers)

    class G(nn.Module):
        latent_dim = 100

        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, z):
            x = self.net(z)
            return x if flat else x.view(-1, 1, 28, 28)
    return G()


MLP_WRONG = {
    "sigmoid output": (lambda: mlp(final=nn.Sigmoid), "outputs are in [0, 1]"),
    "no output activation": (lambda: mlp(final=None), "end with nn.Tanh()"),
    "BatchNorm1d(n, 0.8)": (lambda: mlp(bn=lambda n: nn.BatchNorm1d(n, 0.8)), "sets eps, not momentum"),
    "flat output": (lambda: mlp(flat=True), "reshape the 784 outputs"),
    "a layer missing": (lambda: mlp(sizes=(100, 128, 256, 1024, 784)), "the lecture's layers are"),
    "ReLU instead of LeakyReLU(0.2)": (lambda: mlp(act=nn.ReLU), "LeakyReLU(0.2)"),
}


def test_mlp_generator_solution_passes(capsys):
    assert_passes(checks.check_mlp_generator, MLPGenerator(), capsys)
    assert_passes(checks.check_mlp_generator, mlp(), capsys)


@pytest.mark.parametrize("case", list(MLP_WRONG))
def test_mlp_generator_rejects(case, capsys):
    build, message = MLP_WRONG[case]
    assert_rejects(checks.check_mlp_generator, build(), message, capsys)


# --- the analytic saturation gradient ----------------------------------------------------------------
def sat_solution(logits):
    d = torch.sigmoid(logits)
    return -d, -(1 - d)


SAT_WRONG = {
    "sign flipped": (lambda l: (torch.sigmoid(l), 1 - torch.sigmoid(l)), "sign flipped"),
    "swapped": (lambda l: (-(1 - torch.sigmoid(l)), -torch.sigmoid(l)), "swapped"),
    "w.r.t. D, not the logit": (lambda l: (-1 / (1 - torch.sigmoid(l)), -1 / torch.sigmoid(l)), "w.r.t. D(G(z))"),
    "averaged": (lambda l: (-torch.sigmoid(l) / len(l), -(1 - torch.sigmoid(l)) / len(l)), "per-sample"),
    "reduced to a scalar": (lambda l: (-torch.sigmoid(l).mean(), -(1 - torch.sigmoid(l)).mean()), "one gradient per logit"),
    "one of them wrong": (lambda l: (-torch.sigmoid(l), -torch.sigmoid(l) * (1 - torch.sigmoid(l))), "non-saturating gradient is off"),
    "not done": (not_done, "not implemented yet"),
}


def test_saturation_gradients_solution_passes(capsys):
    assert_passes(checks.check_saturation_gradients, sat_solution, capsys)


@pytest.mark.parametrize("case", list(SAT_WRONG))
def test_saturation_gradients_rejects(case, capsys):
    answer, message = SAT_WRONG[case]
    assert_rejects(checks.check_saturation_gradients, answer, message, capsys)
