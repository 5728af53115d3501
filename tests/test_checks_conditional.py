"""Lecture 4's self-checks: mismatched labels, conditional forward passes, cGAN and AC-GAN losses."""
import pytest
import torch
import torch.nn.functional as F

from gancourse import checks
from gancourse.checks.conditional import mismatch_problem
from gancourse.conditional import mismatched_labels
from gancourse.losses import acgan_discriminator_loss, acgan_generator_loss, cgan_discriminator_loss
from tests.check_answers import Wrong, assert_passes, assert_rejects, bce, not_done


# --- mismatched labels ------------------------------------------------------------------------
def redraw_collisions(y, k):
    out = torch.randint(0, k, y.shape, device=y.device)
    while (out == y).any():
        out = torch.where(out == y, torch.randint(0, k, y.shape, device=y.device), out)
    return out


def fix_up_collisions(y, k):
    out = torch.randint(0, k, y.shape)
    return torch.where(out == y, (y + 1) % k, out)


def by_multinomial(y, k):
    weights = 1 - F.one_hot(y.flatten(), k).float()
    return torch.multinomial(weights, 1).view(y.shape)


def by_sorting(y, k):
    scores = torch.rand(*y.shape, k, device=y.device)
    scores.scatter_(-1, y.unsqueeze(-1), -1.0)
    return scores.argmax(-1)


MISMATCH_WRONG = {
    "any random label": Wrong(lambda y, k: torch.randint(0, k, y.shape), "were not changed", "distribution"),
    "shift from 0": Wrong(lambda y, k: (y + torch.randint(0, k, y.shape)) % k, "a shift of 0 keeps the label", "hint"),
    "always the next class": Wrong(lambda y, k: (y + 1) % k, "not uniform", "distribution"),
    "fix up collisions with the next class": Wrong(fix_up_collisions, "fixing them up is not uniform", "distribution"),
    "shift in 1..k-2": Wrong(lambda y, k: (y + torch.randint(1, max(k - 1, 2), y.shape)) % k, "not uniform", "distribution"),
    "one shift per batch": Wrong(lambda y, k: (y + torch.randint(1, k, (1,))) % k, "not uniform", "distribution"),
    "one shift per row": Wrong(lambda y, k: (y + torch.randint(1, k, y.shape[:1]).view(-1, *[1] * (y.dim() - 1))) % k,
                               "neighbouring labels", "distribution"),
    "shift repeated in pairs": Wrong(lambda y, k: (y + torch.randint(1, k, (y.numel() // 2 + 1,)).repeat_interleave(2)[:y.numel()]
                                                   .view(y.shape)) % k, "neighbouring labels", "distribution"),
    "k - 1 - y": Wrong(lambda y, k: (k - 1 - y), "not uniform", "value"),
    "no modulo": Wrong(lambda y, k: y + torch.randint(1, k, y.shape), "wrap around", "value"),
    "shuffled batch": Wrong(lambda y, k: y.flatten()[torch.randperm(y.numel())].view(y.shape), "were not changed", "value"),
    "fixed seed": Wrong(lambda y, k: (y + torch.randint(1, k, y.shape, generator=torch.Generator().manual_seed(0))) % k,
                        "no fixed seed", "distribution"),
    "float labels": Wrong(lambda y, k: ((y + torch.randint(1, k, y.shape)) % k).float(), "integers", "crash"),
    "flattened": Wrong(lambda y, k: mismatched_labels(y.flatten(), k), "shaped like labels", "shapes"),
    "a list": Wrong(lambda y, k: mismatched_labels(y, k).tolist(), "shaped like labels", "crash"),
    "in place": Wrong(lambda y, k: y.add_(torch.randint(1, k, y.shape)).remainder_(k), "changed in place", "state"),
    "fixed device": Wrong(lambda y, k: (y + torch.randint(1, k, tuple(y.shape), device="cpu")) % k, "labels' device", "device"),
    "shifted in place": Wrong(lambda y, k: y.add_(torch.randint(1, k, y.shape, device=y.device)) % k, "changed in place", "state"),
    "shift on cpu, labels elsewhere": Wrong(lambda y, k: (y + torch.randint(1, k, tuple(y.shape))) % k, "labels' device", "device"),
    "one per row for 2-D labels": Wrong(lambda y, k: mismatched_labels(y, k) if y.dim() == 1 else mismatched_labels(y[:, 0], k),
                                        "shaped like labels", "shapes"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
def skip_own_class(y, k):
    """Draw from k - 1 classes and step over the label's own."""
    out = torch.randint(0, k - 1, y.shape, device=y.device)
    return out + (out >= y).long()


MISMATCH_RIGHT = {"the package's": mismatched_labels, "skip own class": skip_own_class, "redraw collisions": redraw_collisions, "multinomial": by_multinomial,
                  "argmax of random scores": by_sorting}


@pytest.mark.parametrize("case", list(MISMATCH_RIGHT))
def test_mismatched_labels_accepts(case, capsys):
    assert_passes(checks.check_mismatched_labels, MISMATCH_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(MISMATCH_WRONG))
def test_mismatched_labels_rejects(case, capsys):
    assert_rejects(checks.check_mismatched_labels, MISMATCH_WRONG[case], capsys)


def test_mismatch_uniformity_test_is_reliable():
    """The chi-square bounds pass a correct answer for every seed tried."""
    for seed in range(40):
        torch.manual_seed(seed)
        for k, n in ((10, 9000), (3, 6000), (7, 4200)):
            y = torch.randint(0, k, (n,))
            assert mismatch_problem(mismatched_labels(y, k), y, k) is None, (seed, k)


# --- the cGAN discriminator loss --------------------------------------------------------------
def cgan(r, f, m):
    return bce(r, 1) + (bce(f, 0) + bce(m, 0)) / 2


CGAN_WRONG = {
    "mismatched labelled real": Wrong(lambda r, f, m: bce(r, 1) + (bce(f, 0) + bce(m, 1)) / 2, "mismatched pairs labelled real", "value"),
    "no mismatched term": Wrong(lambda r, f, m: bce(r, 1) + bce(f, 0), "the mismatched term is missing", "value"),
    "no generated term": Wrong(lambda r, f, m: bce(r, 1) + bce(m, 0), "the generated term is missing", "value"),
    "fake terms summed": Wrong(lambda r, f, m: bce(r, 1) + bce(f, 0) + bce(m, 0), "average them", "value"),
    "all three averaged": Wrong(lambda r, f, m: (bce(r, 1) + bce(f, 0) + bce(m, 0)) / 3, "only the two 'fake' terms", "value"),
    "labels swapped": Wrong(lambda r, f, m: bce(r, 0) + (bce(f, 1) + bce(m, 1)) / 2, "labels swapped", "value"),
    "sign flipped": Wrong(lambda r, f, m: -cgan(r, f, m), "sign flipped", "value"),
    "fake logits twice": Wrong(lambda r, f, m: bce(r, 1) + (bce(f, 0) + bce(f, 0)) / 2, "the mismatched term is missing", "independent"),
    "real logits as mismatched": Wrong(lambda r, f, m: bce(r, 1) + (bce(f, 0) + bce(r, 0)) / 2, "on a random batch", "independent"),
    "log of sigmoid": Wrong(lambda r, f, m: -(torch.log(torch.sigmoid(r)).mean() + (torch.log(1 - torch.sigmoid(f)).mean()
                                                                                   + torch.log(1 - torch.sigmoid(m)).mean()) / 2),
                            "work on logits", "extreme"),
    "BCE on sigmoid": Wrong(lambda r, f, m: F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r))
                            + (F.binary_cross_entropy(torch.sigmoid(f), torch.zeros_like(f))
                               + F.binary_cross_entropy(torch.sigmoid(m), torch.zeros_like(m))) / 2, "work on logits", "extreme"),
    "mismatched detached": Wrong(lambda r, f, m: bce(r, 1) + (bce(f, 0) + bce(m.detach(), 0)) / 2, "no gradient reaches", "extreme"),
    "clamped": Wrong(lambda r, f, m: cgan(r.clamp(-50, 50), f.clamp(-50, 50), m.clamp(-50, 50)), "work on logits", "extreme"),
    "fixed dtype targets": Wrong(lambda r, f, m: F.binary_cross_entropy_with_logits(r, torch.ones(r.shape)) + (bce(f, 0) + bce(m, 0)) / 2,
                                 "a tensor was made", "device"),
    "in place": Wrong(lambda r, f, m: cgan(r, f, m.mul_(1.0).add_(0.5)), "in place", "state"),
    "sigmoid_ on the real logits": Wrong(lambda r, f, m: -torch.log(r.sigmoid_()).mean() * 0 + cgan(r, f, m), "in place", "state"),
    "targets on a fixed device": Wrong(lambda r, f, m: F.binary_cross_entropy_with_logits(r, torch.ones(r.shape, dtype=r.dtype)) + (bce(f, 0)
                                                                                                                       + bce(m, 0)) / 2,
                                       "device", "device"),
    "a tuple of terms": Wrong(lambda r, f, m: (bce(r, 1), bce(f, 0), bce(m, 0)), "expected a tensor", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
CGAN_RIGHT = {"the package's": cgan_discriminator_loss, "softplus": lambda r, f, m: F.softplus(-r).mean() + (F.softplus(f).mean()
                                                                                                          + F.softplus(m).mean()) / 2,
              "one BCE over both fakes": lambda r, f, m: bce(r, 1) + bce(torch.cat([f, m]), 0),
              "logsigmoid": lambda r, f, m: -F.logsigmoid(r).mean() - 0.5 * (F.logsigmoid(-f).mean() + F.logsigmoid(-m).mean())}


@pytest.mark.parametrize("case", list(CGAN_RIGHT))
def test_cgan_loss_accepts(case, capsys):
    assert_passes(checks.check_cgan_discriminator_loss, CGAN_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(CGAN_WRONG))
def test_cgan_loss_rejects(case, capsys):
    assert_rejects(checks.check_cgan_discriminator_loss, CGAN_WRONG[case], capsys)


# --- the AC-GAN losses --------------------------------------------------------------------------------
def acgan_d(softmax=False, real_cls=True, fake_cls=True, sign=1, concat=False, copy_paste=False, swap_labels=False, adv=True):
    def d_loss(r, rc, f, fc, y, yf):
        prep = (lambda t: F.softmax(t, 1)) if softmax else (lambda t: t)
        if concat:
            cls = F.cross_entropy(torch.cat([rc, fc]), torch.cat([y, yf]))
        elif copy_paste:
            cls = F.cross_entropy(rc, y) + F.cross_entropy(rc, y)
        elif swap_labels:
            cls = F.cross_entropy(rc, yf) + F.cross_entropy(fc, y)
        else:
            cls = ((F.cross_entropy(prep(rc), y) if real_cls else 0) + (F.cross_entropy(prep(fc), yf) if fake_cls else 0))
        return (bce(r, 1) + bce(f, 0) if adv else 0) + sign * cls
    return d_loss


def acgan_g(softmax=False, sign=1, adversarial="ns", cls=True):
    def g_loss(f, fc, yf):
        prep = F.softmax(fc, 1) if softmax else fc
        adv = {"ns": bce(f, 1), "minimax": -F.softplus(f).mean(), "none": 0, "target 0": bce(f, 0),
               "log sigmoid": -torch.log(torch.sigmoid(f)).mean()}[adversarial]
        return adv + (sign * F.cross_entropy(prep, yf) if cls else 0)
    return g_loss


def nll_d(r, rc, f, fc, y, yf):
    return (F.softplus(-r).mean() + F.softplus(f).mean() + F.nll_loss(F.log_softmax(rc, 1), y)
            + F.nll_loss(F.log_softmax(fc, 1), yf))


ACGAN_WRONG = {
    "softmax before CE in D": Wrong((acgan_d(softmax=True), acgan_g()), "softmax applied before cross_entropy", "value"),
    "softmax before CE in G": Wrong((acgan_d(), acgan_g(softmax=True)), "softmax applied before cross_entropy", "value"),
    "D ignores fake classes": Wrong((acgan_d(fake_cls=False), acgan_g()), "fake images' classification term is missing", "value"),
    "D ignores real classes": Wrong((acgan_d(real_cls=False), acgan_g()), "real images' classification term is missing", "value"),
    "D subtracts classification": Wrong((acgan_d(sign=-1), acgan_g()), "D maximises discrimination + classification", "value"),
    "D without adversarial term": Wrong((acgan_d(adv=False), acgan_g()), "D must also tell real from fake", "value"),
    "CE over the concatenation": Wrong((acgan_d(concat=True), acgan_g()), "averages the two class terms", "hint"),
    "real class term twice": Wrong((acgan_d(copy_paste=True), acgan_g()), "pairs the wrong logits and labels", "independent"),
    "labels swapped between terms": Wrong((acgan_d(swap_labels=True), acgan_g()), "labels were swapped", "independent"),
    "G subtracts classification": Wrong((acgan_d(), acgan_g(sign=-1)), "G wants its fakes classified", "value"),
    "G minimax": Wrong((acgan_d(), acgan_g(adversarial="minimax")), "saturates", "value"),
    "G without adversarial term": Wrong((acgan_d(), acgan_g(adversarial="none")), "G must also fool D", "value"),
    "G without classification": Wrong((acgan_d(), acgan_g(cls=False)), "classification term is missing", "value"),
    "G target 0": Wrong((acgan_d(), acgan_g(adversarial="target 0")), "target 0", "value"),
    "G log of sigmoid": Wrong((acgan_d(), acgan_g(adversarial="log sigmoid")), "work on logits", "extreme"),
    "D detached": Wrong((lambda *a: acgan_d()(*a).detach(), acgan_g()), "not connected", "extreme"),
    "D with float labels": Wrong((lambda r, rc, f, fc, y, yf: acgan_d()(r, rc, f, fc, y.float(), yf), acgan_g()), "raised", "crash"),
    "G returns a pair": Wrong((acgan_d(), lambda f, fc, yf: (bce(f, 1), F.cross_entropy(fc, yf))), "expected a tensor", "crash"),
    "D softmaxes the class logits in place": Wrong((lambda r, rc, f, fc, y, yf: acgan_d()(r, rc.exp_(), f, fc, y, yf), acgan_g()),
                                                   "in place", "state"),
    "G clamps in place": Wrong((acgan_d(), lambda f, fc, yf: acgan_g()(f.clamp_(-5, 5), fc, yf)), "in place", "state"),
    "D targets of fixed dtype": Wrong((lambda r, rc, f, fc, y, yf: F.binary_cross_entropy_with_logits(r, torch.ones(r.shape))
                                       + acgan_d(adv=False)(r, rc, f, fc, y, yf) + bce(f, 0), acgan_g()), "a tensor was made", "device"),
    "G targets on a fixed device": Wrong((acgan_d(), lambda f, fc, yf: F.binary_cross_entropy_with_logits(f, torch.ones(f.shape, dtype=f.dtype))
                                          + F.cross_entropy(fc, yf)), "device", "device"),
    "D not done": Wrong((not_done, acgan_g()), "not implemented yet", "crash"),
}
ACGAN_RIGHT = {"the package's": (acgan_discriminator_loss, acgan_generator_loss), "written out": (acgan_d(), acgan_g()),
               "nll of log_softmax": (nll_d, lambda f, fc, yf: F.softplus(-f).mean() + F.nll_loss(F.log_softmax(fc, 1), yf))}


@pytest.mark.parametrize("case", list(ACGAN_RIGHT))
def test_acgan_losses_accepts(case, capsys):
    assert_passes(checks.check_acgan_losses, ACGAN_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(ACGAN_WRONG))
def test_acgan_losses_rejects(case, capsys):
    wrong = ACGAN_WRONG[case]
    if wrong.answer[0] is not_done:
        with pytest.raises(NotImplementedError):
            checks.check_acgan_losses(*wrong.answer)
        assert capsys.readouterr().out.startswith("[FAIL]")
        return
    assert_rejects(checks.check_acgan_losses, wrong, capsys)
