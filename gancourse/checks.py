"""Students' self-checks: fixed tensors, stand-in networks, no training; each runs in milliseconds.

Every ``check_*`` prints ``[PASS] ...`` or ``[FAIL] <what is wrong> - hint: ...`` and returns a bool;
code still raising its exercise's ``NotImplementedError`` fails and re-raises it, so running an
untouched exercise notebook stops at the first exercise.
Where a wrong answer is a common one (sign flipped, labels swapped, sum instead of mean, ...), the
message names it. tests/test_checks.py feeds each check its catalogue of wrong answers.
"""
from __future__ import annotations

import copy
import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gancourse.losses import discriminator_loss
from gancourse.train import discriminator_step

REAL_LOGITS = torch.tensor([2.0, -1.0, 0.5, 3.0, -0.3])
FAKE_LOGITS = torch.tensor([-2.5, 0.2, -1.0, 1.5, -0.7])
EXTREME_LOGITS = torch.tensor([-100.0, 100.0])


def _report(name: str, problem: str | None = None, hint: str = "") -> bool:
    if problem is None:
        print(f"[PASS] {name}")
        return True
    print(f"[FAIL] {name}: {problem} - hint: {hint}")
    return False


def _call(name: str, fn: Callable, *args):
    """Run the student's code; an exception becomes a FAIL message instead of a traceback."""
    try:
        return fn(*args), None
    except NotImplementedError:
        _report(name, "not implemented yet", "replace `raise NotImplementedError(...)` with your code")
        raise  # an untouched exercise stops here, at its own exercise number
    except Exception as err:  # noqa: BLE001 - any error in student code is reported, not raised
        return None, _report(name, f"raised {type(err).__name__}: {err}",
                             "run the cell on its own to see the full traceback")


def _close(a, b, tol: float = 1e-4) -> bool:
    return a is not None and b is not None and abs(float(a) - float(b)) <= tol * max(1.0, abs(float(b)))


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _check_loss(name: str, fn: Callable, args: tuple, reference: Tensor,
                known_mistakes: dict[str, Tensor], finite_args: tuple) -> bool:
    """Shared logic of the loss checks: scalar, value, named mistakes, finite at extremes."""
    value, failed = _call(name, fn, *(a.clone() for a in args))
    if failed is not None:
        return failed
    if not isinstance(value, Tensor):
        return _report(name, f"returned {type(value).__name__}, expected a tensor",
                       "return the loss tensor itself, not .item(), so it can be backpropagated")
    if value.dim() != 0:
        return _report(name, f"returned shape {tuple(value.shape)}, expected a scalar",
                       "average over the batch with .mean()")
    if not _close(value, reference):
        for mistake, wrong in known_mistakes.items():
            if _close(value, wrong):
                return _report(name, f"got {value.item():.4f}, expected {reference.item():.4f}",
                               mistake)
        return _report(name, f"got {value.item():.4f}, expected {reference.item():.4f}",
                       "compare each term with the formula in the markdown cell above")
    extreme, failed = _call(name, fn, *finite_args)
    if failed is not None:
        return failed
    if not torch.isfinite(extreme).all():
        return _report(name, f"returned {extreme.item()} for confident logits (+-100)",
                       "work on logits: F.binary_cross_entropy_with_logits or F.logsigmoid, "
                       "never torch.log(torch.sigmoid(x))")
    return _report(name)


def check_discriminator_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(real_logits, fake_logits)``: -[mean log D(x) + mean log(1 - D(G(z)))]."""
    r, f = REAL_LOGITS, FAKE_LOGITS
    reference = _bce(r, 1.0) + _bce(f, 0.0)
    mistakes = {
        "sign flipped: that is the value function V, which D maximises; the loss to minimise is -V":
            -reference,
        "labels swapped: real images get the label 1, generated images the label 0":
            _bce(r, 0.0) + _bce(f, 1.0),
        "sigmoid applied twice: binary_cross_entropy_with_logits applies the sigmoid itself":
            _bce(torch.sigmoid(r), 1.0) + _bce(torch.sigmoid(f), 0.0),
        "summed over the batch instead of averaging (use .mean(), or the default reduction)":
            reference * len(r),
        "the two terms were averaged; the loss is their sum, the negated value function":
            reference / 2,
        "the fake term is missing: add the loss of D(G(z)) against the label 0": _bce(r, 1.0),
        "the real term is missing: add the loss of D(x) against the label 1": _bce(f, 0.0),
    }
    return _check_loss("discriminator loss", fn, (r, f), reference, mistakes,
                       (EXTREME_LOGITS, EXTREME_LOGITS.flip(0)))


def check_generator_loss_nonsaturating(fn: Callable[[Tensor], Tensor]) -> bool:
    """Check ``fn(fake_logits)``: the non-saturating generator loss -mean log D(G(z))."""
    f = FAKE_LOGITS
    reference = _bce(f, 1.0)
    mistakes = {
        "this is the minimax loss log(1 - D(G(z))), which saturates; use -log D(G(z))":
            -F.softplus(f).mean(),
        "sign flipped: G minimises -log D(G(z)), i.e. it pushes D(G(z)) up": -reference,
        "target 0: the generator wants its fakes classified as real, label 1": _bce(f, 0.0),
        "sigmoid applied twice: binary_cross_entropy_with_logits applies the sigmoid itself":
            _bce(torch.sigmoid(f), 1.0),
        "summed over the batch instead of averaging (use .mean())": reference * len(f),
    }
    return _check_loss("non-saturating generator loss", fn, (f,), reference, mistakes,
                       (EXTREME_LOGITS,))


class _StandInG(nn.Module):
    """A tiny linear 'generator' of 6-dimensional data, enough to test a step function."""

    latent_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(4, 6)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


def _stand_ins() -> tuple[nn.Module, nn.Module, Tensor]:
    gen = torch.Generator().manual_seed(0)
    G, D = _StandInG(), nn.Sequential(nn.Linear(6, 1), nn.Flatten(0))
    with torch.no_grad():
        for p in [*G.parameters(), *D.parameters()]:
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return G, D, torch.randn(8, 6, generator=gen)


def check_discriminator_step(fn: Callable) -> bool:
    """Check ``fn(G, D, batch, opt_d, d_loss) -> dict``: one update of D, none of G, fakes detached."""
    name = "discriminator step"
    G, D, x = _stand_ins()
    G_ref, D_ref = copy.deepcopy(G), copy.deepcopy(D)
    G_before = [p.detach().clone() for p in G.parameters()]
    D_before = [p.detach().clone() for p in D.parameters()]
    opt = torch.optim.SGD(D.parameters(), lr=0.1)
    for p in D.parameters():
        p.grad = torch.full_like(p, 5.0)  # left over from an earlier step: must be cleared
    labels = torch.zeros(8, dtype=torch.long)
    torch.manual_seed(0)
    out, failed = _call(name, fn, G, D, (x, labels), opt, discriminator_loss)
    if failed is not None:
        return failed
    torch.manual_seed(0)
    ref = discriminator_step(G_ref, D_ref, (x, labels), torch.optim.SGD(D_ref.parameters(), lr=0.1),
                             discriminator_loss)
    if any(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters()):
        return _report(name, "gradients reached G's parameters",
                       "detach the fakes, x_fake = G(z).detach(), so D's loss stops at D")
    if any(not torch.equal(a, p) for a, p in zip(G_before, G.parameters())):
        return _report(name, "G's weights changed", "this step updates D only: call opt_d.step()")
    if all(torch.equal(a, p) for a, p in zip(D_before, D.parameters())):
        return _report(name, "D's weights did not change",
                       "call loss.backward() and then opt_d.step()")
    if not all(torch.allclose(p, q, atol=1e-5) for p, q in zip(D.parameters(), D_ref.parameters())):
        stale = [b - 0.1 * (g + 5.0) for b, g in
                 zip(D_before, [q.grad for q in D_ref.parameters()])]
        if all(torch.allclose(p, s, atol=1e-5) for p, s in zip(D.parameters(), stale)):
            return _report(name, "D's update includes gradients left over from before",
                           "call opt_d.zero_grad() before loss.backward()")
        return _report(name, "D's update differs from the reference step",
                       "draw z = torch.randn(len(x_real), G.latent_dim) first, then compute "
                       "d_loss(D(x_real), D(x_fake)), real logits first")
    if not isinstance(out, dict) or not {"loss_d", "d_real", "d_fake"} <= set(out):
        return _report(name, f"returned {out!r:.60}", "return a dict with loss_d, d_real, d_fake")
    if not all(isinstance(out[k], float) for k in ("loss_d", "d_real", "d_fake")):
        return _report(name, "the returned values are not Python floats", "use .item() on each")
    for key in ("loss_d", "d_real", "d_fake"):
        if not _close(out[key], ref[key]):
            return _report(name, f"{key} = {out[key]:.4f}, expected {ref[key]:.4f}",
                           "d_real and d_fake are mean probabilities: torch.sigmoid(logits).mean()")
    return _report(name)


def check_mlp_generator(G: nn.Module) -> bool:
    """Check the lecture's MLP generator: 100 -> 128 -> 256 -> 512 -> 1024 -> 784, BN, Tanh."""
    name = "MLP generator"
    z = torch.randn(16, 100, generator=torch.Generator().manual_seed(0))
    loud = copy.deepcopy(G).eval()  # scaled-up weights: only a squashing output stays in range
    with torch.no_grad():
        for m in loud.modules():
            if isinstance(m, nn.Linear):
                m.weight *= 20
        x, failed = _call(name, loud, z)
    if failed is not None:
        return failed
    if tuple(x.shape) != (16, 1, 28, 28):
        return _report(name, f"output shape {tuple(x.shape)}, expected (16, 1, 28, 28)",
                       "reshape the 784 outputs with .view(-1, 1, 28, 28)")
    if x.min() >= 0:
        return _report(name, "outputs are in [0, 1]",
                       "end with nn.Tanh(): the data is scaled to [-1, 1], not [0, 1]")
    if x.min() < -1 or x.max() > 1:
        return _report(name, f"outputs reach [{x.min():.2f}, {x.max():.2f}]",
                       "end with nn.Tanh() so pixels stay in [-1, 1] like the data")
    sizes = [(m.in_features, m.out_features) for m in G.modules() if isinstance(m, nn.Linear)]
    expected = [(100, 128), (128, 256), (256, 512), (512, 1024), (1024, 784)]
    if sizes != expected:
        return _report(name, f"linear layers {sizes}", f"the lecture's layers are {expected}")
    bns = [m for m in G.modules() if isinstance(m, nn.BatchNorm1d)]
    if [bn.num_features for bn in bns] != [256, 512, 1024]:
        return _report(name, f"BatchNorm1d on {[bn.num_features for bn in bns]} features",
                       "BatchNorm1d after the 256-, 512- and 1024-unit layers, none after the first")
    if any(not math.isclose(bn.eps, 1e-5) for bn in bns):
        return _report(name, f"BatchNorm1d eps = {bns[0].eps}",
                       "BatchNorm1d(n, 0.8) sets eps, not momentum; write momentum=0.2 explicitly")
    slopes = [m.negative_slope for m in G.modules() if isinstance(m, nn.LeakyReLU)]
    if len(slopes) != 4 or any(s != 0.2 for s in slopes):
        return _report(name, f"{len(slopes)} LeakyReLU layers with slopes {slopes}",
                       "use nn.LeakyReLU(0.2) after each of the four hidden layers")
    return _report(name)


def check_saturation_gradients(fn: Callable[[Tensor], tuple[Tensor, Tensor]]) -> bool:
    """Check ``fn(logits) -> (minimax_grad, nonsaturating_grad)``, per sample, w.r.t. the logit."""
    name = "saturation gradients"
    logits = torch.tensor([-6.0, -2.0, 0.0, 1.0, 4.0], dtype=torch.float64)
    out, failed = _call(name, fn, logits.clone())
    if failed is not None:
        return failed
    if not (isinstance(out, tuple) and len(out) == 2 and all(isinstance(t, Tensor) for t in out)):
        return _report(name, f"returned {type(out).__name__}", "return a pair of tensors")
    mm, ns = out
    if mm.shape != logits.shape or ns.shape != logits.shape:
        return _report(name, f"shapes {tuple(mm.shape)} and {tuple(ns.shape)}",
                       "one gradient per logit: no .mean() or .sum()")
    d = torch.sigmoid(logits)
    ref_mm, ref_ns = -d, -(1 - d)
    mistakes = [
        ((-ref_mm, -ref_ns), "sign flipped: G descends these losses; d/dl log(1 - sigmoid(l)) = -sigmoid(l)"),
        ((ref_ns, ref_mm), "the two are swapped: the minimax gradient is -D(G(z)), which vanishes as D -> 0"),
        ((-1 / (1 - d), -1 / d), "that is the gradient w.r.t. D(G(z)); multiply by dD/dl = D(1 - D)"),
        ((ref_mm / len(d), ref_ns / len(d)), "divided by the batch size: give per-sample gradients"),
    ]
    if torch.allclose(mm, ref_mm) and torch.allclose(ns, ref_ns):
        return _report(name)
    for (w_mm, w_ns), hint in mistakes:
        if torch.allclose(mm, w_mm) and torch.allclose(ns, w_ns):
            return _report(name, "wrong gradients", hint)
    wrong = "minimax" if not torch.allclose(mm, ref_mm) else "non-saturating"
    return _report(name, f"the {wrong} gradient is off",
                   "differentiate the loss with respect to the logit l, with D = sigmoid(l)")


def check_upsample_block(make_block: Callable[[int, int], nn.Module]) -> bool:
    """Check ``make_block(c_in, c_out)``: a transposed-conv block doubling H and W, with BN and ReLU."""
    name = "transposed-conv block"
    for c_in, c_out, size in ((128, 64, 7), (64, 32, 14), (16, 8, 5)):
        block, failed = _call(name, make_block, c_in, c_out)
        if failed is not None:
            return failed
        x = torch.randn(2, c_in, size, size, generator=torch.Generator().manual_seed(0))
        y, failed = _call(name, block, x)
        if failed is not None:
            return failed
        if tuple(y.shape) != (2, c_out, 2 * size, 2 * size):
            expected = (2, c_out, 2 * size, 2 * size)
            hint = ("ConvTranspose2d's output is (H - 1) * stride - 2 * padding + kernel_size "
                    "(+ output_padding): kernel_size=4, stride=2, padding=1 doubles H")
            if y.shape[1] != c_out:
                hint = "the block's last layer must output c_out channels"
            return _report(name, f"input {tuple(x.shape)} gave {tuple(y.shape)}, expected {expected}", hint)
    layers = list(block.modules())
    if not any(isinstance(m, nn.ConvTranspose2d) for m in layers):
        return _report(name, "no nn.ConvTranspose2d in the block", "this exercise is about transposed convolution")
    if not any(isinstance(m, nn.BatchNorm2d) for m in layers):
        return _report(name, "no BatchNorm2d", "add nn.BatchNorm2d(c_out) after the convolution")
    if not any(isinstance(m, (nn.ReLU, nn.LeakyReLU)) for m in layers):
        return _report(name, "no activation", "end the block with nn.ReLU() (DCGAN's generator)")
    return _report(name)


def check_mismatched_labels(fn: Callable[[Tensor, int], Tensor]) -> bool:
    """Check ``fn(labels, num_classes)``: a different, uniformly random class for every label."""
    name = "mismatched labels"
    labels = torch.arange(10).repeat(900)  # each class 900 times
    torch.manual_seed(0)
    out, failed = _call(name, fn, labels.clone(), 10)
    if failed is not None:
        return failed
    if not isinstance(out, Tensor) or out.shape != labels.shape:
        return _report(name, f"returned {type(out).__name__} {tuple(getattr(out, 'shape', ()))}",
                       "return one label per input label, a tensor of the same shape")
    if out.min() < 0 or out.max() > 9:
        return _report(name, f"labels outside 0..9 (got {out.min()}..{out.max()})",
                       "wrap around with % num_classes")
    if (out == labels).any():
        return _report(name, f"{(out == labels).sum()} of {len(labels)} labels were not changed",
                       "draw a shift in 1..num_classes-1 and add it modulo num_classes")
    counts = torch.stack([torch.bincount(out[labels == c], minlength=10) for c in range(10)])
    if ((counts > 0).sum(1) < 9).any() or counts[counts > 0].min() < 50:
        return _report(name, "the wrong labels are not spread over the other classes",
                       "each label should be replaced by a uniformly random *other* class, "
                       "not a fixed one such as (y + 1) % 10")
    return _report(name)


def check_cgan_discriminator_loss(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> bool:
    """Check ``fn(real_logits, fake_logits, mismatched_logits)``: real 1, fake 0, mismatched 0."""
    r, f, m = REAL_LOGITS, FAKE_LOGITS, torch.tensor([0.3, -0.4, 1.2, -1.0, 0.9])  # mean != 0
    reference = _bce(r, 1.0) + (_bce(f, 0.0) + _bce(m, 0.0)) / 2
    mistakes = {
        "mismatched pairs labelled real: a real image with the wrong label is a fake pair (0)":
            _bce(r, 1.0) + (_bce(f, 0.0) + _bce(m, 1.0)) / 2,
        "the mismatched term is missing: add the loss of D(x, wrong label) against 0":
            _bce(r, 1.0) + _bce(f, 0.0),
        "the two 'fake' terms are summed; average them so real and fake weigh the same":
            _bce(r, 1.0) + _bce(f, 0.0) + _bce(m, 0.0),
        "labels swapped: real matched pairs get 1, the others 0":
            _bce(r, 0.0) + (_bce(f, 1.0) + _bce(m, 1.0)) / 2,
        "sign flipped: minimise the cross-entropies, do not maximise them": -reference,
    }
    return _check_loss("cGAN discriminator loss", fn, (r, f, m), reference, mistakes,
                       (EXTREME_LOGITS, EXTREME_LOGITS.flip(0), EXTREME_LOGITS.flip(0)))


_CLASS_LOGITS = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0], [-1.0, 2.5, 0.0], [1.0, 1.0, -2.0],
                              [0.0, -0.5, 0.7]])
_LABELS = torch.tensor([0, 2, 1, 1, 2])


def check_acgan_losses(d_loss: Callable, g_loss: Callable) -> bool:
    """Check AC-GAN's ``d_loss(real_logits, real_class_logits, fake_logits, fake_class_logits,
    labels, fake_labels)`` and ``g_loss(fake_logits, fake_class_logits, fake_labels)``."""
    name = "AC-GAN losses"
    r, f, rc, fc, y, yf = REAL_LOGITS, FAKE_LOGITS, _CLASS_LOGITS, _CLASS_LOGITS.flip(0), _LABELS, _LABELS.flip(0)
    ce = F.cross_entropy
    d_ref = _bce(r, 1.0) + _bce(f, 0.0) + ce(rc, y) + ce(fc, yf)
    g_ref = _bce(f, 1.0) + ce(fc, yf)
    d_value, failed = _call(name, d_loss, r, rc, f, fc, y, yf)
    if failed is not None:
        return failed
    g_value, failed = _call(name, g_loss, f, fc, yf)
    if failed is not None:
        return failed
    softmax_first = ce(F.softmax(rc, 1), y) + ce(F.softmax(fc, 1), yf)
    d_mistakes = {
        "softmax applied before cross_entropy, which applies log-softmax itself: pass the logits":
            _bce(r, 1.0) + _bce(f, 0.0) + softmax_first,
        "the fake images' classification term is missing: D classifies fakes too":
            _bce(r, 1.0) + _bce(f, 0.0) + ce(rc, y),
        "classification subtracted: D maximises discrimination + classification":
            _bce(r, 1.0) + _bce(f, 0.0) - ce(rc, y) - ce(fc, yf),
    }
    g_mistakes = {
        "softmax applied before cross_entropy: pass the class logits": _bce(f, 1.0) + ce(F.softmax(fc, 1), yf),
        "classification subtracted: G wants its fakes classified as the requested labels":
            _bce(f, 1.0) - ce(fc, yf),
        "the minimax adversarial term saturates; use -log D(G(z)) (label 1)": -F.softplus(f).mean() + ce(fc, yf),
        "the adversarial term is missing: G must also fool D": ce(fc, yf),
    }
    for value, reference, mistakes, which in ((d_value, d_ref, d_mistakes, "D"), (g_value, g_ref, g_mistakes, "G")):
        if not isinstance(value, Tensor) or value.dim() != 0:
            return _report(name, f"{which}'s loss is not a scalar tensor", "return one tensor, averaged over the batch")
        if not _close(value, reference):
            hint = next((h for h, wrong in mistakes.items() if _close(value, wrong)),
                        "compare each term with the markdown cell above")
            return _report(name, f"{which}'s loss is {value.item():.4f}, expected {reference.item():.4f}", hint)
    return _report(name)
