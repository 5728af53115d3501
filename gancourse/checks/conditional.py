"""Self-checks of lecture 4: mismatched labels, a conditional G's and D's forward, cGAN and AC-GAN losses."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from gancourse.checks._base import Fail, call, check, describe, seeded
from gancourse.checks._loss import labels, logits, probe_loss


def _bce(x: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(x, torch.full_like(x, target))


def _draw(fn: Callable, y: Tensor, k: int, seed: int):
    with torch.random.fork_rng():  # the student's random state is left as it was
        torch.random.default_generator.manual_seed(seed)
        return call(fn, y, k)


def _chi2(counts: Tensor) -> float:
    expected = counts.sum() / counts.numel()
    return float(((counts - expected) ** 2 / expected).sum())


def mismatch_problem(out: Tensor, y: Tensor, k: int) -> tuple[str, str] | None:
    """Why ``out`` is not a uniform, independent other class for each label of ``y``; None if it is."""
    shift = ((out - y) % k).flatten()  # 1..k-1 for a right answer
    for c in range(k):
        counts = torch.bincount(shift[y.flatten() == c], minlength=k)[1:].double()
        if (counts == 0).any() or _chi2(counts) > 3 * k + 30:  # p < 1e-6 for a uniform draw
            spread = "a fixed class such as (y + 1) % k" if (counts > 0).sum() == 1 else "some classes more often"
            return (f"the wrong labels for class {c} are not uniform over the other classes "
                    f"(counts {counts.long().tolist()})",
                    f"it picks {spread}: draw a shift uniformly from 1..num_classes-1, torch.randint(1, k, ...), "
                    "and add it modulo num_classes; re-drawing collisions or fixing them up is not uniform")
    pairs = (shift[:-1] - 1) * (k - 1) + (shift[1:] - 1)  # neighbouring entries' shifts, jointly
    if _chi2(torch.bincount(pairs, minlength=(k - 1) ** 2).double()) > 3 * (k - 1) ** 2 + 30:
        return ("neighbouring labels get related shifts",
                "draw one shift per label (shape labels.shape), not one per batch or per row")
    return None


@check("mismatched labels")
def check_mismatched_labels(fn: Callable[[Tensor, int], Tensor]) -> None:
    """Check ``fn(labels, num_classes)``: a different, uniformly random class for every label."""
    for k, shape, seed in ((10, (9000,), 0), (3, (60, 100), 1), (7, (4200,), 2)):
        y = torch.randint(0, k, shape, generator=seeded(seed))
        kept = y.clone()
        out = _draw(fn, y, k, seed)
        if not torch.equal(y, kept):
            raise Fail("the labels passed in were changed in place", "leave the caller's tensor alone: no += or add_")
        if not isinstance(out, Tensor) or out.shape != y.shape:
            raise Fail(f"for labels of shape {tuple(shape)} it returned {describe(out)}",
                       "return one label per input label, a tensor shaped like labels")
        if out.dtype.is_floating_point or out.dtype == torch.bool:
            raise Fail(f"returned {describe(out)}", "class labels are integers: keep them torch.long, no float division")
        if out.min() < 0 or out.max() >= k:
            raise Fail(f"labels outside 0..{k - 1} (got {out.min().item()}..{out.max().item()})",
                       "wrap around with % num_classes")
        same = int((out == y).sum())
        if same:
            hint = ("a shift of 0 keeps the label: draw it from 1..num_classes-1 (torch.randint(1, k, ...))"
                    if same > out.numel() / (2 * k) else "some labels were not changed: every label must change")
            raise Fail(f"{same} of {out.numel()} labels were not changed", hint)
        if (problem := mismatch_problem(out, y, k)) is not None:
            raise Fail(*problem)
        if torch.equal(_draw(fn, y, k, seed + 100), out):
            raise Fail("two calls returned the same labels", "draw fresh random numbers on every call, no fixed seed")
    meta = _on_meta(fn)
    if isinstance(meta, Tensor) and meta.device.type != "meta":
        raise Fail(f"for labels on another device it returned {describe(meta)}",
                   "make the random shift on the labels' device: torch.randint(..., device=labels.device)")


def _on_meta(fn: Callable):
    """What ``fn`` returns for labels on the meta device (None if it cannot run there)."""
    try:
        with torch.random.fork_rng():
            return fn(torch.zeros(6, dtype=torch.long, device="meta"), 10)
    except Exception as err:  # noqa: BLE001
        if "expected device" in str(err) or "same device" in str(err):
            raise Fail("mixing devices: with labels on another device it raised an error",
                       "make the random shift on the labels' device: torch.randint(..., device=labels.device)") from None
        return None


@check("cGAN discriminator loss")
def check_cgan_discriminator_loss(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(real_logits, fake_logits, mismatched_logits)``: real 1, fake 0, mismatched 0,
    the two 'fake' terms averaged."""
    reference = lambda r, f, m: _bce(r, 1) + (_bce(f, 0) + _bce(m, 0)) / 2  # noqa: E731
    mistakes = {
        "mismatched pairs labelled real: a real image with the wrong label is a fake pair (0)":
            lambda r, f, m: _bce(r, 1) + (_bce(f, 0) + _bce(m, 1)) / 2,
        "the mismatched term is missing: add the loss of D(x, wrong label) against 0": lambda r, f, m: _bce(r, 1) + _bce(f, 0),
        "the generated term is missing: add the loss of D(G(z, y), y) against 0": lambda r, f, m: _bce(r, 1) + _bce(m, 0),
        "the two 'fake' terms are summed; average them so real and fake weigh the same":
            lambda r, f, m: _bce(r, 1) + _bce(f, 0) + _bce(m, 0),
        "labels swapped: real matched pairs get 1, the others 0": lambda r, f, m: _bce(r, 0) + (_bce(f, 1) + _bce(m, 1)) / 2,
        "sign flipped: minimise the cross-entropies, do not maximise them": lambda r, f, m: -reference(r, f, m),
        "all three terms averaged: the real term stands alone, only the two 'fake' terms are averaged":
            lambda r, f, m: (_bce(r, 1) + _bce(f, 0) + _bce(m, 0)) / 3,
    }
    probe_loss(fn, [logits("real_logits"), logits("fake_logits"), logits("mismatched_logits")], reference,
               mistakes=mistakes, what="the loss")


def _acgan_d(r, rc, f, fc, y, yf):
    return _bce(r, 1) + _bce(f, 0) + F.cross_entropy(rc, y) + F.cross_entropy(fc, yf)


def _acgan_g(f, fc, yf):
    return _bce(f, 1) + F.cross_entropy(fc, yf)


@check("AC-GAN losses")
def check_acgan_losses(d_loss: Callable, g_loss: Callable) -> None:
    """Check AC-GAN's ``d_loss(real_logits, real_class_logits, fake_logits, fake_class_logits,
    labels, fake_labels)`` and ``g_loss(fake_logits, fake_class_logits, fake_labels)``."""
    ce, adv = F.cross_entropy, lambda r, f: _bce(r, 1) + _bce(f, 0)
    d_mistakes = {
        "softmax applied before cross_entropy, which applies log-softmax itself: pass the logits":
            lambda r, rc, f, fc, y, yf: adv(r, f) + ce(F.softmax(rc, 1), y) + ce(F.softmax(fc, 1), yf),
        "the fake images' classification term is missing: D classifies fakes too":
            lambda r, rc, f, fc, y, yf: adv(r, f) + ce(rc, y),
        "the real images' classification term is missing: D learns the classes from real images":
            lambda r, rc, f, fc, y, yf: adv(r, f) + ce(fc, yf),
        "classification subtracted: D maximises discrimination + classification":
            lambda r, rc, f, fc, y, yf: adv(r, f) - ce(rc, y) - ce(fc, yf),
        "one cross-entropy over the real and fake batches together averages the two class terms: add them":
            lambda r, rc, f, fc, y, yf: adv(r, f) + ce(torch.cat([rc, fc]), torch.cat([y, yf])),
        "a class term pairs the wrong logits and labels: real class logits with labels, fake ones with fake_labels":
            lambda r, rc, f, fc, y, yf: adv(r, f) + ce(rc, y) + ce(rc, y),
        "the labels were swapped between the two class terms": lambda r, rc, f, fc, y, yf: adv(r, f) + ce(rc, yf) + ce(fc, y),
        "the adversarial term is missing: D must also tell real from fake": lambda r, rc, f, fc, y, yf: ce(rc, y) + ce(fc, yf),
    }
    g_mistakes = {
        "softmax applied before cross_entropy: pass the class logits": lambda f, fc, yf: _bce(f, 1) + ce(F.softmax(fc, 1), yf),
        "classification subtracted: G wants its fakes classified as the requested labels":
            lambda f, fc, yf: _bce(f, 1) - ce(fc, yf),
        "the minimax adversarial term saturates; use -log D(G(z)) (label 1)":
            lambda f, fc, yf: -F.softplus(f).mean() + ce(fc, yf),
        "the adversarial term is missing: G must also fool D": lambda f, fc, yf: ce(fc, yf),
        "the classification term is missing: G must make its fakes look like the requested class":
            lambda f, fc, yf: _bce(f, 1),
        "target 0 for the fakes: G wants them called real (1)": lambda f, fc, yf: _bce(f, 0) + ce(fc, yf),
    }
    probe_loss(d_loss, [logits("real_logits"), logits("real_class_logits", 4), logits("fake_logits"),
                        logits("fake_class_logits", 4), labels("labels", 4), labels("fake_labels", 4)],
               _acgan_d, mistakes=d_mistakes, what="D's loss")
    probe_loss(g_loss, [logits("fake_logits"), logits("fake_class_logits", 4), labels("fake_labels", 4)],
               _acgan_g, mistakes=g_mistakes, what="G's loss")

