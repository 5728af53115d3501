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


# --- lecture 3: the transposed-conv block ------------------------------------------------------------
def up(kernel=4, stride=2, padding=1, output_padding=0, bn=True, act=True, out=None):
    def make(c_in, c_out):
        layers = [nn.ConvTranspose2d(c_in, out or c_out, kernel, stride, padding, output_padding)]
        layers += [nn.BatchNorm2d(out or c_out)] if bn else []
        layers += [nn.ReLU()] if act else []
        return nn.Sequential(*layers)
    return make


UP_WRONG = {
    "kernel 3 without output_padding": (up(kernel=3), "kernel_size=4, stride=2, padding=1"),
    "stride 1": (up(stride=1), "doubles H"),
    "no padding": (up(padding=0), "doubles H"),
    "wrong channels": (up(out=3), "must output c_out channels"),
    "no BatchNorm": (up(bn=False), "BatchNorm2d"),
    "no activation": (up(act=False), "no activation"),
    "upsample + conv instead": (lambda c_in, c_out: nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 3, padding=1),
                                                                 nn.BatchNorm2d(c_out), nn.ReLU()), "ConvTranspose2d"),
    "not done": (not_done, "not implemented yet"),
}


def test_upsample_block_solution_passes(capsys):
    assert_passes(checks.check_upsample_block, up(), capsys)
    assert_passes(checks.check_upsample_block, up(kernel=3, output_padding=1), capsys)


@pytest.mark.parametrize("case", list(UP_WRONG))
def test_upsample_block_rejects(case, capsys):
    answer, message = UP_WRONG[case]
    assert_rejects(checks.check_upsample_block, answer, message, capsys)


# --- lecture 4: mismatched labels, the cGAN loss, the AC-GAN losses ----------------------------------
MISMATCH_WRONG = {
    "any random label": (lambda y, k: torch.randint(0, k, y.shape), "were not changed"),
    "always the next class": (lambda y, k: (y + 1) % k, "not a fixed one"),
    "no modulo": (lambda y, k: y + torch.randint(1, k, y.shape), "wrap around"),
    "shuffled batch": (lambda y, k: y[torch.randperm(len(y))], "were not changed"),
    "not done": (not_done, "not implemented yet"),
}


def test_mismatched_labels_solution_passes(capsys):
    from gancourse.conditional import mismatched_labels
    assert_passes(checks.check_mismatched_labels, mismatched_labels, capsys)


@pytest.mark.parametrize("case", list(MISMATCH_WRONG))
def test_mismatched_labels_rejects(case, capsys):
    answer, message = MISMATCH_WRONG[case]
    assert_rejects(checks.check_mismatched_labels, answer, message, capsys)


CGAN_WRONG = {
    "mismatched labelled real": (lambda r, f, m: bce(r, 1) + (bce(f, 0) + bce(m, 1)) / 2, "mismatched pairs labelled real"),
    "no mismatched term": (lambda r, f, m: bce(r, 1) + bce(f, 0), "the mismatched term is missing"),
    "fake terms summed": (lambda r, f, m: bce(r, 1) + bce(f, 0) + bce(m, 0), "average them"),
    "labels swapped": (lambda r, f, m: bce(r, 0) + (bce(f, 1) + bce(m, 1)) / 2, "labels swapped"),
    "sign flipped": (lambda r, f, m: -(bce(r, 1) + (bce(f, 0) + bce(m, 0)) / 2), "sign flipped"),
    "log of sigmoid": (lambda r, f, m: -(torch.log(torch.sigmoid(r)).mean() + (torch.log(1 - torch.sigmoid(f)).mean()
                                                                              + torch.log(1 - torch.sigmoid(m)).mean()) / 2),
                       "never torch.log(torch.sigmoid(x))"),
    "not done": (not_done, "not implemented yet"),
}


def test_cgan_loss_solution_passes(capsys):
    from gancourse.losses import cgan_discriminator_loss
    assert_passes(checks.check_cgan_discriminator_loss, cgan_discriminator_loss, capsys)


@pytest.mark.parametrize("case", list(CGAN_WRONG))
def test_cgan_loss_rejects(case, capsys):
    answer, message = CGAN_WRONG[case]
    assert_rejects(checks.check_cgan_discriminator_loss, answer, message, capsys)


def acgan_d(softmax=False, fake_cls=True, sign=1):
    def d_loss(r, rc, f, fc, y, yf):
        prep = (lambda t: F.softmax(t, 1)) if softmax else (lambda t: t)
        cls = F.cross_entropy(prep(rc), y) + (F.cross_entropy(prep(fc), yf) if fake_cls else 0)
        return bce(r, 1) + bce(f, 0) + sign * cls
    return d_loss


def acgan_g(softmax=False, sign=1, adversarial="ns"):
    def g_loss(f, fc, yf):
        prep = F.softmax(fc, 1) if softmax else fc
        adv = {"ns": bce(f, 1), "minimax": -F.softplus(f).mean(), "none": 0}[adversarial]
        return adv + sign * F.cross_entropy(prep, yf)
    return g_loss


ACGAN_WRONG = {
    "softmax before CE in D": ((acgan_d(softmax=True), acgan_g()), "softmax applied before cross_entropy"),
    "softmax before CE in G": ((acgan_d(), acgan_g(softmax=True)), "softmax applied before cross_entropy"),
    "D ignores fake classes": ((acgan_d(fake_cls=False), acgan_g()), "fake images' classification term is missing"),
    "D subtracts classification": ((acgan_d(sign=-1), acgan_g()), "D maximises discrimination + classification"),
    "G subtracts classification": ((acgan_d(), acgan_g(sign=-1)), "G wants its fakes classified"),
    "G minimax": ((acgan_d(), acgan_g(adversarial="minimax")), "saturates"),
    "G without adversarial term": ((acgan_d(), acgan_g(adversarial="none")), "G must also fool D"),
}


def test_acgan_losses_solution_passes(capsys):
    from gancourse.losses import acgan_discriminator_loss, acgan_generator_loss
    assert checks.check_acgan_losses(acgan_discriminator_loss, acgan_generator_loss) is True
    assert capsys.readouterr().out.startswith("[PASS]")


@pytest.mark.parametrize("case", list(ACGAN_WRONG))
def test_acgan_losses_rejects(case, capsys):
    (d_loss, g_loss), message = ACGAN_WRONG[case]
    assert checks.check_acgan_losses(d_loss, g_loss) is False
    out = capsys.readouterr().out
    assert out.startswith("[FAIL]") and message in out, out


def test_acgan_losses_untouched_exercise_raises(capsys):
    with pytest.raises(NotImplementedError):
        checks.check_acgan_losses(not_done, acgan_g())


# --- lecture 5: Parzen log-likelihood ---------------------------------------------------------
def parzen(samples, x, sigma, *, mean=True, const=True, sig2=True, two=True, norm_sq=True,
           squared=True, stable=True, reduce=False):
    """A student's Parzen log-likelihood; each flag set False is one typical mistake."""
    d2 = torch.cdist(x.double(), samples.double()) ** (2 if squared else 1)
    z = -d2 / ((2 if two else 1) * sigma ** (2 if sig2 else 1))
    if stable:
        ll = torch.logsumexp(z, 1) - (torch.log(torch.tensor(float(len(samples)))) if mean else 0)
    else:
        ll = torch.log(torch.exp(z).mean(1) if mean else torch.exp(z).sum(1))
    if const:
        ll = ll - x.shape[1] / 2 * torch.log(torch.tensor(2 * torch.pi * sigma ** (2 if norm_sq else 1)))
    return ll.mean() if reduce else ll


PARZEN_WRONG = {
    "sum, not mean": (lambda s, x, sg: parzen(s, x, sg, mean=False), "subtract log N"),
    "no constant": (lambda s, x, sg: parzen(s, x, sg, const=False), "normalising constant is missing"),
    "sigma not squared": (lambda s, x, sg: parzen(s, x, sg, sig2=False), "divides by 2 sigma, not 2 sigma^2"),
    "no 2 in the exponent": (lambda s, x, sg: parzen(s, x, sg, two=False), "the Gaussian has 2 sigma^2"),
    "log(2 pi sigma)": (lambda s, x, sg: parzen(s, x, sg, norm_sq=False), "log(2 pi sigma)"),
    "distance not squared": (lambda s, x, sg: parzen(s, x, sg, squared=False), "not squared"),
    "naive log(mean(exp))": (lambda s, x, sg: parzen(s, x, sg, stable=False), "torch.logsumexp"),
    "averaged over x": (lambda s, x, sg: parzen(s, x, sg, reduce=True), "expected a tensor of shape (6,)"),
    "not done": (not_done, "not implemented yet"),
}


def test_parzen_solution_passes(capsys):
    assert_passes(checks.check_parzen_log_likelihood, parzen, capsys)


@pytest.mark.parametrize("case", list(PARZEN_WRONG))
def test_parzen_rejects(case, capsys):
    assert_rejects(checks.check_parzen_log_likelihood, *PARZEN_WRONG[case], capsys)


# --- lecture 5: Fréchet distance of two Gaussians ---------------------------------------------
def frechet(mu1, cov1, mu2, cov2, *, root="matrix", two=True, mean="squared", cov=True):
    """A student's Fréchet distance; each keyword away from its default is one typical mistake."""
    product = cov1 @ cov2
    cross = {"matrix": torch.linalg.eigvals(product).sqrt().real.sum(),
             "elementwise": torch.trace(product.sqrt()),  # torch.sqrt is not a matrix square root
             "none": torch.trace(product)}[root]
    mean_term = {"squared": ((mu1 - mu2) ** 2).sum(), "norm": (mu1 - mu2).norm(), "none": 0}[mean]
    cov_term = torch.trace(cov1) + torch.trace(cov2) - (2 if two else 1) * cross
    return mean_term + (cov_term if cov else 0)


def scipy_style(mu1, cov1, mu2, cov2):
    """The textbook form with a matrix square root by eigendecomposition of the product."""
    vals, vecs = torch.linalg.eig(cov1 @ cov2)
    sqrt = (vecs @ torch.diag(vals.sqrt()) @ torch.linalg.inv(vecs)).real
    return (((mu1 - mu2) ** 2).sum() + torch.trace(cov1 + cov2 - 2 * sqrt)).item()


FRECHET_WRONG = {
    "element-wise sqrt": (lambda *a: frechet(*a, root="elementwise"), "element-wise sqrt"),
    "no square root": (lambda *a: frechet(*a, root="none"), "has no square root"),
    "no factor 2": (lambda *a: frechet(*a, two=False), "needs the factor 2"),
    "distance, not squared": (lambda *a: frechet(*a, mean="norm"), "not the distance"),
    "no mean term": (lambda *a: frechet(*a, mean="none"), "|mu1 - mu2|^2 is missing"),
    "no covariance term": (lambda *a: frechet(*a, cov=False), "covariance term is missing"),
    "a vector": (lambda mu1, cov1, mu2, cov2: (mu1 - mu2) ** 2, "return one number"),
    "not done": (not_done, "not implemented yet"),
}


@pytest.mark.parametrize("answer", [frechet, scipy_style])
def test_frechet_solutions_pass(answer, capsys):
    assert_passes(checks.check_frechet_distance, answer, capsys)


@pytest.mark.parametrize("case", list(FRECHET_WRONG))
def test_frechet_rejects(case, capsys):
    assert_rejects(checks.check_frechet_distance, *FRECHET_WRONG[case], capsys)


# --- lecture 6: GAIN --------------------------------------------------------------------------
def gain_hint(mask, hint_rate):
    return mask * (torch.rand_like(mask) < hint_rate).float()


GAIN_HINT_WRONG = {
    "B not multiplied by M": (lambda m, r: (torch.rand_like(m) < r).float(), "multiply B by the mask"),
    "the mask itself": (lambda m, r: m.clone(), "the hint is the mask itself"),
    "rate inverted": (lambda m, r: m * (torch.rand_like(m) > r).float(), "not rand > hint_rate"),
    "probabilities, not draws": (lambda m, r: m * torch.rand_like(m), "values other than 0 and 1"),
    "fixed seed inside": (lambda m, r: m * (torch.rand(m.shape, generator=torch.Generator().manual_seed(1)) < r).float(),
                          "draw fresh random numbers"),
    "one hint per row": (lambda m, r: (torch.rand(len(m)) < r).float(), "a tensor shaped like the mask"),
    "not done": (not_done, "not implemented yet"),
}


def test_gain_hint_solution_passes(capsys):
    assert_passes(checks.check_gain_hint, gain_hint, capsys)


@pytest.mark.parametrize("case", list(GAIN_HINT_WRONG))
def test_gain_hint_rejects(case, capsys):
    assert_rejects(checks.check_gain_hint, *GAIN_HINT_WRONG[case], capsys)


def bce_none(logits, target):
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none")


GAIN_D_WRONG = {
    "swapped": (lambda l, m: bce_none(l, 1 - m).mean(), "targets swapped"),
    "sign": (lambda l, m: -bce_none(l, m).mean(), "sign flipped"),
    "sum": (lambda l, m: bce_none(l, m).sum(), "sum instead of mean"),
    "double sigmoid": (lambda l, m: bce_none(torch.sigmoid(l), m).mean(), "sigmoid applied twice"),
    "missing only": (lambda l, m: (bce_none(l, m) * (1 - m)).mean(), "only the missing entries"),
    "per entry": (lambda l, m: bce_none(l, m), "did not return a scalar"),
    "not done": (not_done, "not implemented yet"),
}


def test_gain_d_loss_solution_passes(capsys):
    assert_passes(checks.check_gain_discriminator_loss, lambda l, m: F.binary_cross_entropy_with_logits(l, m), capsys)


@pytest.mark.parametrize("case", list(GAIN_D_WRONG))
def test_gain_d_loss_rejects(case, capsys):
    assert_rejects(checks.check_gain_discriminator_loss, *GAIN_D_WRONG[case], capsys)


def gain_g(l, m, x, x_bar, alpha, *, adv="imputed", rec="observed", divide=True, use_alpha=True, sign=1):
    """A student's GAIN generator loss; each keyword away from its default is one typical mistake."""
    fooled = {"imputed": ((1 - m) * bce_none(l, torch.ones_like(m))).mean(),
              "all": bce_none(l, torch.ones_like(m)).mean(),
              "minimax": -((1 - m) * bce_none(l, torch.zeros_like(m))).mean(), "none": 0}[adv]
    where = m if rec == "observed" else 1 - m
    mse = ((where * x - where * x_bar) ** 2).mean() / (where.mean() if divide else 1)
    return fooled + sign * (alpha if use_alpha else 1) * mse


GAIN_G_WRONG = {
    "adversarial on all entries": (lambda *a: gain_g(*a, adv="all"), "only imputed ones"),
    "reconstruction on missing": (lambda *a: gain_g(*a, rec="missing"), "reconstruction term is on the missing"),
    "no division by mean(M)": (lambda *a: gain_g(*a, divide=False), "not divided by mean(M)"),
    "no alpha": (lambda *a: gain_g(*a, use_alpha=False), "alpha is missing"),
    "minus": (lambda *a: gain_g(*a, sign=-1), "subtracted"),
    "minimax": (lambda *a: gain_g(*a, adv="minimax"), "saturates"),
    "reconstruction only": (lambda *a: gain_g(*a, adv="none"), "adversarial term is missing"),
    "not done": (not_done, "not implemented yet"),
}


def test_gain_g_loss_solution_passes(capsys):
    assert_passes(checks.check_gain_generator_loss, gain_g, capsys)


@pytest.mark.parametrize("case", list(GAIN_G_WRONG))
def test_gain_g_loss_rejects(case, capsys):
    assert_rejects(checks.check_gain_generator_loss, *GAIN_G_WRONG[case], capsys)


# --- lecture 7: pix2pix -----------------------------------------------------------------------
class SkipBlock(nn.Module):
    def __init__(self, c_in, c_out, combine="cat", dim=1, bn=True, up="transposed"):
        super().__init__()
        layers = [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1) if up == "transposed"
                  else nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 3, padding=1))]
        self.up = nn.Sequential(*layers, *([nn.BatchNorm2d(c_out)] if bn else []), nn.ReLU())
        self.combine, self.dim = combine, dim

    def forward(self, x, skip):
        u = self.up(x)
        if self.combine == "add":
            return u + skip
        if self.combine == "none":
            return u
        return torch.cat([u, skip], dim=self.dim) if self.combine == "cat" else torch.cat([u, skip.detach() * 0], 1)


SKIP_WRONG = {
    "added": (lambda i, o: SkipBlock(i, o, combine="add"), "concatenate it"),
    "dropped": (lambda i, o: SkipBlock(i, o, combine="none"), "concatenate it"),
    "batch dim": (lambda i, o: SkipBlock(i, o, dim=0), "dim=1, the channels"),
    "zeros instead of skip": (lambda i, o: SkipBlock(i, o, combine="zeros"), "not the skip tensor itself"),
    "no BatchNorm": (lambda i, o: SkipBlock(i, o, bn=False), "BatchNorm2d"),
    "no upsampling": (lambda i, o: nn.Identity(), "raised"),
    "not done": (not_done, "not implemented yet"),
}


def test_unet_skip_block_solution_passes(capsys):
    assert_passes(checks.check_unet_skip_block, SkipBlock, capsys)
    assert_passes(checks.check_unet_skip_block, lambda i, o: SkipBlock(i, o, up="upsample"), capsys)  # also fine


@pytest.mark.parametrize("case", list(SKIP_WRONG))
def test_unet_skip_block_rejects(case, capsys):
    assert_rejects(checks.check_unet_skip_block, *SKIP_WRONG[case], capsys)


def field_backward(layers):
    field = 1
    for k, s in reversed(layers):
        field = field * s + (k - s)
    return field


def field_forward(layers):
    field, jump = 1, 1
    for k, s in layers:
        field, jump = field + (k - 1) * jump, jump * s
    return field


def field_wrong_direction(layers):
    return field_backward(list(reversed(layers)))


FIELD_WRONG = {
    "wrong direction": (field_wrong_direction, "runs from the last layer back"),
    "own stride": (lambda layers: 1 + sum((k - 1) * s for k, s in layers), "product of the strides before it"),
    "sum of kernels": (lambda layers: sum(k for k, _ in layers), "do not simply add up"),
    "ignores strides": (lambda layers: 1 + sum(k - 1 for k, _ in layers), "walk back"),
    "not done": (not_done, "not implemented yet"),
}


@pytest.mark.parametrize("answer", [field_backward, field_forward])
def test_receptive_field_solutions_pass(answer, capsys):
    assert_passes(checks.check_receptive_field, answer, capsys)


@pytest.mark.parametrize("case", list(FIELD_WRONG))
def test_receptive_field_rejects(case, capsys):
    assert_rejects(checks.check_receptive_field, *FIELD_WRONG[case], capsys)


def p2p_g(logits, fake, target, lam, *, l2=False, use_lambda=True, lambda_on_adv=False, minimax=False,
          sign=1, sum_l1=False, sigmoid=False):
    """A student's pix2pix generator loss; each keyword away from its default is one typical mistake."""
    inputs = torch.sigmoid(logits) if sigmoid else logits
    adv = (-F.binary_cross_entropy_with_logits(inputs, torch.zeros_like(logits)) if minimax
           else F.binary_cross_entropy_with_logits(inputs, torch.ones_like(logits)))
    diff = (fake - target) ** 2 if l2 else (fake - target).abs()
    rec = diff.sum() if sum_l1 else diff.mean()
    if lambda_on_adv:
        return lam * adv + rec
    return adv + sign * (lam if use_lambda else 1) * rec


P2P_WRONG = {
    "L2": (lambda *a: p2p_g(*a, l2=True), "pix2pix uses L1"),
    "no lambda": (lambda *a: p2p_g(*a, use_lambda=False), "lambda_l1 is missing"),
    "lambda on adversarial": (lambda *a: p2p_g(*a, lambda_on_adv=True), "not the adversarial one"),
    "minimax": (lambda *a: p2p_g(*a, minimax=True), "saturates"),
    "minus": (lambda *a: p2p_g(*a, sign=-1), "subtracted"),
    "sum": (lambda *a: p2p_g(*a, sum_l1=True), "summed"),
    "sigmoid": (lambda *a: p2p_g(*a, sigmoid=True), "sigmoid applied"),
    "L1 only": (lambda l, f, t, lam: lam * (f - t).abs().mean(), "adversarial term is missing"),
    "not done": (not_done, "not implemented yet"),
}


def test_pix2pix_g_loss_solution_passes(capsys):
    from gancourse.losses import pix2pix_generator_loss
    assert_passes(checks.check_pix2pix_generator_loss, pix2pix_generator_loss, capsys)
    assert_passes(checks.check_pix2pix_generator_loss, p2p_g, capsys)


@pytest.mark.parametrize("case", list(P2P_WRONG))
def test_pix2pix_g_loss_rejects(case, capsys):
    assert_rejects(checks.check_pix2pix_generator_loss, *P2P_WRONG[case], capsys)
