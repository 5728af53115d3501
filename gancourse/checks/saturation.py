"""Self-checks of lecture 2: saturation gradients, where the minimax loss stops teaching, Algorithm 1
with k discriminator steps, and reading training curves."""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from gancourse.checks._base import Fail, as_number, call, check, describe, seeded
from gancourse.curves import DIAGNOSES, true_diagnoses


def _pair(out, logits: Tensor) -> tuple[Tensor, Tensor]:
    if not (isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(t, Tensor) for t in out)):
        raise Fail(f"returned {describe(out)}", "return a pair of tensors: (minimax_grad, nonsaturating_grad)")
    for t in out:
        if t.shape != logits.shape:
            raise Fail(f"for logits of shape {tuple(logits.shape)} it returned {describe(t)}",
                       "one gradient per logit: no .mean() or .sum()")
        if t.dtype != logits.dtype:
            raise Fail(f"for {logits.dtype} logits it returned {describe(t)}", "compute from the logits, keep their dtype")
    return out[0], out[1]


@check("saturation gradients")
def check_saturation_gradients(fn: Callable[[Tensor], tuple[Tensor, Tensor]]) -> None:
    """Check ``fn(logits) -> (minimax_grad, nonsaturating_grad)``, per sample, w.r.t. the logit."""
    ordinary = torch.tensor([-6.0, -2.0, 0.0, 1.0, 4.0], dtype=torch.float64)
    extreme = torch.tensor([[-100.0, -30.0, 30.0], [100.0, -0.5, 2.0]], dtype=torch.float64)
    random32 = torch.randn(3, 4, 2, generator=seeded(0)) * 3
    for logits in (ordinary, extreme, random32):
        kept = logits.clone()
        mm, ns = _pair(call(fn, logits), logits)
        if not torch.equal(logits, kept):
            raise Fail("the logits were changed in place", "leave the caller's tensor alone: torch.sigmoid(l), not l.sigmoid_()")
        d = torch.sigmoid(kept)
        ref_mm, ref_ns = -d, -torch.sigmoid(-kept)
        tol = dict(rtol=1e-5, atol=1e-12) if logits.dtype == torch.float64 else dict(rtol=1e-4, atol=1e-7)
        if torch.allclose(mm, ref_mm, **tol) and torch.allclose(ns, ref_ns, **tol):
            continue
        mistakes = [
            ((-ref_mm, -ref_ns), "sign flipped: G descends these losses; d/dl log(1 - sigmoid(l)) = -sigmoid(l)"),
            ((ref_ns, ref_mm), "the two are swapped: the minimax gradient is -D(G(z)), which vanishes as D -> 0"),
            ((-1 / (1 - d), -1 / d), "that is the gradient w.r.t. D(G(z)); multiply by dD/dl = D(1 - D)"),
            ((ref_mm / d.numel(), ref_ns / d.numel()), "divided by the batch size: give per-sample gradients"),
        ]
        for (w_mm, w_ns), hint in mistakes:
            if torch.allclose(mm, w_mm, **tol) and torch.allclose(ns, w_ns, **tol):
                raise Fail("wrong gradients", hint)
        wrong, got, want = (("minimax", mm, ref_mm) if not torch.allclose(mm, ref_mm, **tol)
                            else ("non-saturating", ns, ref_ns))
        i = int((got - want).abs().nan_to_num(float("inf")).flatten().argmax())
        at = kept.flatten()[i].item()
        hint = ("finite and exact at extreme logits: 1 - sigmoid(l) is sigmoid(-l); no eps, no clamp"
                if abs(at) >= 30 else "differentiate the loss with respect to the logit l, with D = sigmoid(l)")
        raise Fail(f"the {wrong} gradient is {got.flatten()[i].item():.3g} at l = {at:g}, "
                   f"expected {want.flatten()[i].item():.3g}", hint)


@check("where the minimax loss stops teaching")
def check_saturation_logit(fn: Callable[[float], float]) -> None:
    """Check ``fn(eps)``: the logit below which the minimax gradient |d/dl log(1 - sigmoid(l))| < eps."""
    for eps in (1e-4, 0.01, 0.1, 0.3, 0.5, 0.8):
        out = as_number(call(fn, eps))
        if isinstance(out, bool) or not isinstance(out, (int, float)):
            raise Fail(f"for eps = {eps} it returned {describe(out)}", "return one number, the logit")
        want = math.log(eps / (1 - eps))
        if abs(out - want) <= 1e-4 * max(1.0, abs(want)):
            continue
        mistakes = {
            "that is where the non-saturating gradient 1 - sigmoid(l) equals eps; the minimax one is sigmoid(l)":
                -want,
            "that is a probability D(G(z)); the question asks for the logit l = log(d / (1 - d))": eps,
            "log(eps) is only the small-eps limit: solve sigmoid(l) = eps exactly, l = log(eps / (1 - eps))":
                math.log(eps),
            "the gradient w.r.t. D(G(z)) is 1 / (1 - D), not the one through the logit: chain it with D(1 - D)":
                math.log((1 - eps) / eps) if eps != 0.5 else float("nan"),
        }
        hint = next((h for h, wrong in mistakes.items() if abs(out - wrong) <= 1e-4 * max(1.0, abs(wrong))),
                    "the minimax gradient through the logit is -sigmoid(l): solve sigmoid(l) = eps for l")
        raise Fail(f"for eps = {eps} got {out:.4f}, expected {want:.4f}", hint)


class _Recorder:
    """Stand-in steps and batches that record the order in which a loop calls them."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.batches_drawn, self.seen = 0, []

    def next_batch(self) -> tuple:
        self.batches_drawn += 1
        return (torch.full((2, 1), float(self.batches_drawn)), None)

    def d_step(self, batch) -> dict:
        self.calls.append("D")
        self.seen.append(batch[0][0, 0].item() if isinstance(batch, tuple) and isinstance(batch[0], Tensor) else None)
        return {"loss_d": float(len(self.calls)), "d_real": 0.5, "d_fake": 0.25}

    def g_step(self) -> dict:
        self.calls.append("G")
        return {"loss_g": float(len(self.calls)), "d_fake_g": 0.3, "grad_norm_g": 1.0}


@check("Algorithm 1 with k discriminator steps")
def check_k_step_training(fn: Callable) -> None:
    """Check ``fn(d_step, g_step, next_batch, num_steps, k) -> history``: k D steps on fresh batches,
    then one G step, ``num_steps`` times; one dict per G step (the last D step's numbers and G's)."""
    for num_steps, k in ((3, 2), (2, 5), (4, 1)):
        rec = _Recorder()
        history = call(fn, rec.d_step, rec.g_step, rec.next_batch, num_steps, k)
        expected = (["D"] * k + ["G"]) * num_steps
        if rec.calls != expected:
            got = "".join(rec.calls)
            hint = "for each G step: k D steps first, then one G step"
            if got.count("D") == (k - 1) * num_steps or got.count("D") == (k + 1) * num_steps:
                hint = "range(k) runs k times: D is updated exactly k times per G step"
            elif got == "G" + ("D" * k + "G") * (num_steps - 1) + "D" * k or got.startswith("G"):
                hint = "Algorithm 1 updates D first, k times, then G once"
            elif got == "D" * k + "G" * num_steps:
                hint = "the k D steps belong inside the loop over G steps, before each G step"
            raise Fail(f"with num_steps={num_steps}, k={k} the steps ran as {got}, expected {''.join(expected)}", hint)
        if rec.batches_drawn != k * num_steps or rec.seen != [float(i + 1) for i in range(k * num_steps)]:
            raise Fail(f"{rec.batches_drawn} batches drawn for {k * num_steps} D steps",
                       "each D step gets a fresh minibatch: call next_batch() inside the k-loop, once per D step")
        if not isinstance(history, list) or len(history) != num_steps or not all(isinstance(h, dict) for h in history):
            raise Fail(f"returned {describe(history)}", f"return a list of {num_steps} dicts, one per G step")
        for i, h in enumerate(history):
            g_call = (k + 1) * (i + 1)
            if h.get("loss_g") != float(g_call) or h.get("loss_d") not in (float(g_call - 1),
                                                                           float(g_call - 1 - (k - 1) / 2)):
                raise Fail(f"history[{i}] is {h}", "merge the last D step's dict with the G step's: {**d_stats, **g_stats}")


@check("reading training curves")
def check_curve_diagnosis(answers: dict) -> None:
    """Check ``answers``: for each run A-D, one of ``gancourse.curves.DIAGNOSES``."""
    truth = true_diagnoses()
    if not isinstance(answers, dict) or set(answers) != set(truth):
        raise Fail(f"got {describe(answers)}", f"a dict with one answer for each run: {sorted(truth)}")
    unknown = [a for a in answers.values() if a not in DIAGNOSES]
    if unknown:
        raise Fail(f"{unknown[0]!r} is not one of the choices", f"pick from {DIAGNOSES}")
    clues = {"labels swapped": "which of D(x) and D(G(z)) goes to 1?",
             "saturated": "where does G's gradient norm go while D(G(z)) stays near 0?",
             "G does not learn": "D wins, yet G's gradient is large: does G use it?",
             "D does not learn": "D(x) and D(G(z)) barely move from where they started: is D learning?"}
    wrong = [letter for letter in sorted(truth) if answers[letter] != truth[letter]]
    if wrong:
        raise Fail(f"{len(wrong)} of {len(truth)} runs misread, the first is run {wrong[0]}", clues[truth[wrong[0]]])
