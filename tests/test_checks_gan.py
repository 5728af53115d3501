"""Lecture 1's self-checks: the losses, the discriminator step and the MLP generator."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gancourse import checks
from gancourse.losses import discriminator_loss, generator_loss_nonsaturating
from gancourse.models.mlp import MLPGenerator
from gancourse.train import discriminator_step
from tests.check_answers import Wrong, assert_passes, assert_rejects, bce, not_done

BCE = F.binary_cross_entropy_with_logits

# --- the discriminator loss -------------------------------------------------------------------
D_LOSS_WRONG = {
    "sign flipped": Wrong(lambda r, f: -(bce(r, 1) + bce(f, 0)), "sign flipped", "value"),
    "labels swapped": Wrong(lambda r, f: bce(r, 0) + bce(f, 1), "labels swapped", "value"),
    "sigmoid twice": Wrong(lambda r, f: bce(torch.sigmoid(r), 1) + bce(torch.sigmoid(f), 0), "sigmoid applied twice", "value"),
    "sum not mean": Wrong(lambda r, f: BCE(r, torch.ones_like(r), reduction="sum") + BCE(f, torch.zeros_like(f), reduction="sum"),
                          "summed over the batch", "value"),
    "no fake term": Wrong(lambda r, f: bce(r, 1), "the fake term is missing", "value"),
    "no real term": Wrong(lambda r, f: bce(f, 0), "the real term is missing", "value"),
    "arguments swapped": Wrong(lambda r, f: bce(f, 1) + bce(r, 0), "labels swapped", "hint"),
    "fake logits twice": Wrong(lambda r, f: bce(f, 1) + bce(f, 0), "on a random batch", "independent"),
    "real logits twice": Wrong(lambda r, f: bce(r, 1) + bce(r, 0), "on a random batch", "independent"),
    "log of sigmoid": Wrong(lambda r, f: -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()),
                            "at logits of +-30 and +-100", "extreme"),
    "log of sigmoid plus eps": Wrong(lambda r, f: -(torch.log(torch.sigmoid(r) + 1e-8).mean()
                                                    + torch.log(1 - torch.sigmoid(f) + 1e-8).mean()), "work on logits", "extreme"),
    "clamped logits": Wrong(lambda r, f: bce(r.clamp(-20, 20), 1) + bce(f.clamp(-20, 20), 0), "work on logits", "extreme"),
    "clamped loss": Wrong(lambda r, f: (BCE(r, torch.ones_like(r), reduction="none").clamp(max=20).mean()
                                        + BCE(f, torch.zeros_like(f), reduction="none").clamp(max=20).mean()), "work on logits", "extreme"),
    "BCE on sigmoid": Wrong(lambda r, f: F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r))
                            + F.binary_cross_entropy(torch.sigmoid(f), torch.zeros_like(f)), "work on logits", "extreme"),
    "detached": Wrong(lambda r, f: (bce(r, 1) + bce(f, 0)).detach(), "not connected", "extreme"),
    "rebuilt from item": Wrong(lambda r, f: torch.tensor((bce(r, 1) + bce(f, 0)).item()), "not connected", "extreme"),
    "fake term detached": Wrong(lambda r, f: bce(r, 1) + bce(f.detach(), 0), "no gradient reaches fake_logits", "extreme"),
    "sigmoid_ in place": Wrong(lambda r, f: -(torch.log(r.sigmoid_()).mean() + torch.log(1 - f.sigmoid_()).mean()),
                               "in place", "state"),
    "targets of fixed dtype": Wrong(lambda r, f: BCE(r, torch.ones(r.shape)) + BCE(f, torch.zeros(f.shape)), "fixed dtype", "device"),
    "targets on a fixed device": Wrong(lambda r, f: BCE(r, torch.ones(r.shape, dtype=r.dtype))
                                       + BCE(f, torch.zeros(f.shape, dtype=f.dtype)), "device", "device"),
    "float32 result": Wrong(lambda r, f: (bce(r, 1) + bce(f, 0)).float(), "float32 for float64 inputs", "device"),
    "BCELoss on logits": Wrong(lambda r, f: F.binary_cross_entropy(r, torch.ones_like(r)) + F.binary_cross_entropy(f, torch.zeros_like(f)),
                               "raised", "crash"),
    "returns a float": Wrong(lambda r, f: (bce(r, 1) + bce(f, 0)).item(), "expected a tensor", "crash"),
    "returns a tuple": Wrong(lambda r, f: (bce(r, 1), bce(f, 0)), "expected a tensor", "crash"),
    "no mean": Wrong(lambda r, f: BCE(r, torch.ones_like(r), reduction="none") + BCE(f, torch.zeros_like(f), reduction="none"),
                     "expected a scalar", "shapes"),
    "batch size hard-coded": Wrong(lambda r, f: (BCE(r, torch.ones_like(r), reduction="sum")
                                                 + BCE(f, torch.zeros_like(f), reduction="sum")) / 5, "on a random batch", "shapes"),
    "fake logits zeroed in place": Wrong(lambda r, f: bce(r, 1) + bce(f.mul_(0.5), 0), "in place", "state"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
D_LOSS_RIGHT = {
    "the package's": discriminator_loss,
    "slides' average": lambda r, f: (bce(r, 1) + bce(f, 0)) / 2,
    "softplus": lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(),
    "logsigmoid": lambda r, f: -(F.logsigmoid(r).mean() + F.logsigmoid(-f).mean()),
    "one BCE over the concatenation, times 2": lambda r, f: 2 * BCE(torch.cat([r, f]), torch.cat([torch.ones_like(r), torch.zeros_like(f)])),
    "new_ones": lambda r, f: BCE(r, r.new_ones(r.shape)) + BCE(f, f.new_zeros(f.shape)),
    "averaged logsigmoid": lambda r, f: -(F.logsigmoid(r) + F.logsigmoid(-f)).mean() / 2,
}


@pytest.mark.parametrize("case", list(D_LOSS_RIGHT))
def test_discriminator_loss_accepts(case, capsys):
    assert_passes(checks.check_discriminator_loss, D_LOSS_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(D_LOSS_WRONG))
def test_discriminator_loss_rejects(case, capsys):
    assert_rejects(checks.check_discriminator_loss, D_LOSS_WRONG[case], capsys)


# --- the non-saturating generator loss ---------------------------------------------------------
G_LOSS_WRONG = {
    "minimax instead": Wrong(lambda f: -F.softplus(f).mean(), "this is the minimax loss", "value"),
    "sign flipped": Wrong(lambda f: -bce(f, 1), "sign flipped", "value"),
    "target 0": Wrong(lambda f: bce(f, 0), "target 0", "value"),
    "sigmoid twice": Wrong(lambda f: bce(torch.sigmoid(f), 1), "sigmoid applied twice", "value"),
    "sum not mean": Wrong(lambda f: BCE(f, torch.ones_like(f), reduction="sum"), "summed", "value"),
    "log of sigmoid": Wrong(lambda f: -torch.log(torch.sigmoid(f)).mean(), "work on logits", "extreme"),
    "log of sigmoid plus eps": Wrong(lambda f: -torch.log(torch.sigmoid(f) + 1e-8).mean(), "work on logits", "extreme"),
    "clamp": Wrong(lambda f: bce(f.clamp(min=-15), 1), "work on logits", "extreme"),
    "BCE on sigmoid": Wrong(lambda f: F.binary_cross_entropy(torch.sigmoid(f), torch.ones_like(f)), "work on logits", "extreme"),
    "detached": Wrong(lambda f: bce(f, 1).detach(), "not connected", "extreme"),
    "from item": Wrong(lambda f: torch.tensor(bce(f, 1).item(), requires_grad=True), "not connected", "extreme"),
    "from data": Wrong(lambda f: bce(f.data, 1), "not connected", "extreme"),
    "in place": Wrong(lambda f: -torch.log(f.sigmoid_()).mean(), "in place", "state"),
    "fixed dtype": Wrong(lambda f: BCE(f, torch.ones(f.shape)), "fixed dtype", "device"),
    "fixed device": Wrong(lambda f: BCE(f, torch.ones(len(f), dtype=f.dtype)), "device", "device"),
    "returns a number": Wrong(lambda f: bce(f, 1).item(), "expected a tensor", "crash"),
    "returns a list": Wrong(lambda f: [bce(f, 1)], "expected a tensor", "crash"),
    "per sample": Wrong(lambda f: BCE(f, torch.ones_like(f), reduction="none"), "expected a scalar", "shapes"),
    "clamped in place": Wrong(lambda f: bce(f.clamp_(-10, 10), 1), "in place", "state"),
    "ones of the first logit's shape": Wrong(lambda f: BCE(f, torch.ones(1, dtype=f.dtype).expand_as(f) * (len(f) == 5)), "on a random batch",
                                             "hint"),
    "batch size hard-coded": Wrong(lambda f: BCE(f, torch.ones_like(f), reduction="sum") / 5, "on a random batch", "shapes"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
G_LOSS_RIGHT = {
    "the package's": generator_loss_nonsaturating,
    "softplus": lambda f: F.softplus(-f).mean(),
    "logsigmoid": lambda f: -F.logsigmoid(f).mean(),
    "BCE with a full_like target": lambda f: BCE(f, torch.full_like(f, 1.0)),
}


@pytest.mark.parametrize("case", list(G_LOSS_RIGHT))
def test_generator_loss_accepts(case, capsys):
    assert_passes(checks.check_generator_loss_nonsaturating, G_LOSS_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(G_LOSS_WRONG))
def test_generator_loss_rejects(case, capsys):
    assert_rejects(checks.check_generator_loss_nonsaturating, G_LOSS_WRONG[case], capsys)


# --- the discriminator step --------------------------------------------------------------------
def step_variant(detach=True, zero_grad="before", step=True, swap=False, also_g=False, floats=True, eval_g=False,
                 freeze_g=False, no_grad=False, in_place=False, probs_after=False, twice=False):
    def d_step(G, D, batch, opt_d, d_loss):
        x_real, _ = batch
        z = torch.randn(len(x_real), G.latent_dim, device=x_real.device)
        if eval_g:
            G.eval()
        if freeze_g:
            G.requires_grad_(False)
        if no_grad:
            with torch.no_grad():
                x_fake = G(z)
        else:
            x_fake = G(z).detach() if detach else G(z)
        if in_place:
            x_real.mul_(1.0).add_(0.0)
            x_real += 0.01
        real_logits, fake_logits = D(x_real), D(x_fake)
        loss = d_loss(fake_logits, real_logits) if swap else d_loss(real_logits, fake_logits)
        if zero_grad == "before":
            opt_d.zero_grad()
        loss.backward()
        if zero_grad == "between":
            opt_d.zero_grad()
        if step:
            opt_d.step()
            if twice:
                opt_d.step()
        if also_g:
            with torch.no_grad():
                for p in G.parameters():
                    p -= 0.1
        if probs_after:
            with torch.no_grad():
                real_logits, fake_logits = D(x_real), D(x_fake)
        d_real, d_fake = torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean()
        if floats:
            return {"loss_d": loss.item(), "d_real": d_real.item(), "d_fake": d_fake.item()}
        return {"loss_d": loss, "d_real": d_real, "d_fake": d_fake}
    return d_step


D_STEP_WRONG = {
    "missing detach": Wrong(step_variant(detach=False), "gradients reached G's parameters", "value"),
    "missing zero_grad": Wrong(step_variant(zero_grad=None), "call opt_d.zero_grad()", "value"),
    "missing opt.step": Wrong(step_variant(step=False), "call opt_d.step()", "hint"),
    "zero_grad between backward and step": Wrong(step_variant(zero_grad="between"), "zero_grad() goes before loss.backward()", "hint"),
    "labels swapped": Wrong(step_variant(swap=True), "differs from the reference", "value"),
    "stepped twice": Wrong(step_variant(twice=True), "differs from the reference", "value"),
    "updates G too": Wrong(step_variant(also_g=True), "G's weights changed", "state"),
    "leaves G in eval mode": Wrong(step_variant(eval_g=True), "G was left in eval mode", "state"),
    "freezes G and never undoes it": Wrong(step_variant(freeze_g=True), "requires_grad flags were changed", "state"),
    "changes the batch in place": Wrong(step_variant(in_place=True), "changed in place", "state"),
    "probabilities after the update": Wrong(step_variant(probs_after=True), "from the logits computed before the update", "value"),
    "tensors not floats": Wrong(step_variant(floats=False), "return Python floats", "crash"),
    "returns nothing": Wrong(lambda G, D, b, o, l: step_variant()(G, D, b, o, l) and None, "return a dict", "crash"),
    "returns a tuple": Wrong(lambda G, D, b, o, l: tuple(step_variant()(G, D, b, o, l).values()), "return a dict", "crash"),
    "real images as fakes": Wrong(lambda G, D, b, o, l: step_variant()(G, lambda x: D(b[0]) if x is not b[0] else D(x), b, o, l),
                                  "differs from the reference", "independent"),
    "real logits twice": Wrong(lambda G, D, b, o, l: step_variant()(G, D, b, o, lambda r, f: l(r, r)), "differs from the reference",
                               "independent"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
D_STEP_RIGHT = {
    "the package's": discriminator_step,
    "the exercise's": step_variant(),
    "fakes under no_grad": step_variant(no_grad=True),
    "zero_grad(set_to_none=False)": lambda G, D, b, o, l: step_variant()(G, D, b, o, l),
}


@pytest.mark.parametrize("case", list(D_STEP_RIGHT))
def test_discriminator_step_accepts(case, capsys):
    assert_passes(checks.check_discriminator_step, D_STEP_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(D_STEP_WRONG))
def test_discriminator_step_rejects(case, capsys):
    assert_rejects(checks.check_discriminator_step, D_STEP_WRONG[case], capsys)


# --- the MLP generator ---------------------------------------------------------------------------
def mlp(final=nn.Tanh, bn=lambda n: nn.BatchNorm1d(n, momentum=0.2), act=lambda: nn.LeakyReLU(0.2),
        sizes=(100, 128, 256, 512, 1024, 784), flat=False, bn_first=False, bn_after_act=False):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-2], sizes[1:-1])):
        norm = [bn(b)] if i > 0 or bn_first else []
        layers += [nn.Linear(a, b)] + ([act()] + norm if bn_after_act else norm + [act()])
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


class FunctionalG(nn.Module):
    """A correct answer written with functional calls and one shared activation, or a wrong variant."""

    def __init__(self, out="tanh", call_bn=True, shared=True, slope=0.2):
        super().__init__()
        self.latent_dim, self.out, self.call_bn, self.slope = 100, out, call_bn, slope
        self.fcs = nn.ModuleList(nn.Linear(a, b) for a, b in zip((100, 128, 256, 512, 1024), (128, 256, 512, 1024, 784)))
        self.bns = nn.ModuleList(nn.BatchNorm1d(n) for n in (256, 512, 1024))
        self.act = nn.LeakyReLU(slope) if shared else None

    def forward(self, z):
        h = z
        for i, fc in enumerate(self.fcs[:-1]):
            h = fc(h)
            if i > 0 and self.call_bn:
                h = self.bns[i - 1](h)
            h = self.act(h) if self.act is not None else F.leaky_relu(h, self.slope)
        x = self.fcs[-1](h)
        x = {"tanh": torch.tanh, "clamp": lambda t: t.clamp(-1, 1), "hardtanh": F.hardtanh,
             "method": lambda t: t.tanh(), "sigmoid": torch.sigmoid}[self.out](x)
        return x.view(-1, 1, 28, 28)


class ModeSwitchingG(FunctionalG):
    def forward(self, z):
        self.eval()
        return super().forward(z)


class InPlaceG(FunctionalG):
    def forward(self, z):
        return super().forward(z.mul_(1.0).add_(0.01))


MLP_WRONG = {
    "sigmoid output": Wrong(lambda: mlp(final=nn.Sigmoid), "outputs in [0, 1]", "trace"),
    "no output activation": Wrong(lambda: mlp(final=None), "end with nn.Tanh()", "trace"),
    "clamp output": Wrong(lambda: FunctionalG(out="clamp"), "clamp cuts the gradient", "trace"),
    "hardtanh output": Wrong(lambda: mlp(final=nn.Hardtanh), "hardtanh's gradient is 0", "trace"),
    "BatchNorm defined but never called": Wrong(lambda: FunctionalG(call_bn=False), "counts only if forward runs it", "trace"),
    "BatchNorm1d(n, 0.8)": Wrong(lambda: mlp(bn=lambda n: nn.BatchNorm1d(n, 0.8)), "sets eps, not momentum", "trace"),
    "BatchNorm after the first layer too": Wrong(lambda: mlp(bn_first=True), "none after the first", "trace"),
    "LeakyReLU before BatchNorm": Wrong(lambda: mlp(bn_after_act=True), "each hidden layer: Linear, (BatchNorm1d), LeakyReLU",
                                        "trace"),
    "ReLU instead of LeakyReLU(0.2)": Wrong(lambda: mlp(act=nn.ReLU), "LeakyReLU(0.2)", "trace"),
    "LeakyReLU default slope": Wrong(lambda: mlp(act=nn.LeakyReLU), "slope of 0.2", "trace"),
    "functional leaky_relu default slope": Wrong(lambda: FunctionalG(shared=False, slope=0.01), "slope of 0.2", "trace"),
    "flat output": Wrong(lambda: mlp(flat=True), "reshape the 784 outputs", "shapes"),
    "a layer missing": Wrong(lambda: mlp(sizes=(100, 128, 256, 1024, 784)), "the lecture's layers are", "shapes"),
    "widths reversed": Wrong(lambda: mlp(sizes=(100, 1024, 512, 256, 128, 784), bn=nn.BatchNorm1d), "the lecture's layers are",
                             "shapes"),
    "switches itself to eval": Wrong(lambda: ModeSwitchingG(), "left in eval mode", "state"),
    "scales z in place": Wrong(lambda: InPlaceG(), "changed the noise z in place", "state"),
    "dropout after each activation": Wrong(lambda: mlp(act=lambda: nn.Sequential(nn.LeakyReLU(0.2), nn.Dropout(0.3))), "forward applies",
                                           "trace"),
    "not a module": Wrong(lambda: (lambda z: z), "pass an instance", "crash"),
    "no latent_dim": Wrong(lambda: nn.Sequential(nn.Linear(100, 784), nn.Tanh()), "latent_dim", "crash"),
}
MLP_RIGHT = {
    "the package's": MLPGenerator,
    "the Sequential": mlp,
    "functional, one shared LeakyReLU": FunctionalG,
    "F.leaky_relu(x, 0.2)": lambda: FunctionalG(shared=False),
    "tensor.tanh()": lambda: FunctionalG(out="method"),
    "default momentum": lambda: mlp(bn=nn.BatchNorm1d),
    "in eval mode": lambda: mlp().eval(),
    "in-place LeakyReLU": lambda: mlp(act=lambda: nn.LeakyReLU(0.2, inplace=True)),
}


@pytest.mark.parametrize("case", list(MLP_RIGHT))
def test_mlp_generator_accepts(case, capsys):
    assert_passes(checks.check_mlp_generator, MLP_RIGHT[case](), capsys)


@pytest.mark.parametrize("case", list(MLP_WRONG))
def test_mlp_generator_rejects(case, capsys):
    wrong = MLP_WRONG[case]
    assert_rejects(checks.check_mlp_generator, wrong._replace(answer=wrong.answer()), capsys)


def test_mlp_check_leaves_the_model_alone(capsys):
    G = MLPGenerator().eval()
    before = [p.clone() for p in G.parameters()]
    assert checks.check_mlp_generator(G)
    assert not G.training and all(torch.equal(a, p) for a, p in zip(before, G.parameters()))


# --- found by a second tester writing wrong answers independently ---------------------------------------------
class RescaledG(MLPGenerator):
    """The lecture's MLP with its output mapped to [0, 1] after the Tanh."""

    def forward(self, z):
        return (super().forward(z) + 1) / 2


class FixedBatchG(MLPGenerator):
    def forward(self, z):
        return super().forward(z).view(16, 1, 28, 28)


class NoAffineG(MLPGenerator):
    def __init__(self, latent_dim=100):
        super().__init__(latent_dim)
        for i, m in enumerate(self.net):
            if isinstance(m, nn.BatchNorm1d):
                self.net[i] = nn.BatchNorm1d(m.num_features, affine=False)


@pytest.mark.parametrize("G,message", [(RescaledG(), "expected -1"), (FixedBatchG(), "is invalid for input of size"),
                                       (NoAffineG(), "affine=False")])
def test_mlp_generator_rejects_what_a_second_tester_found(G, message, capsys):
    assert_rejects(checks.check_mlp_generator, Wrong(G, message, "trace"), capsys)
