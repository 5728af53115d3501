"""Lecture 2's self-checks: saturation gradients, the saturation logit, Algorithm 1 with k steps, curves."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gancourse import checks
from gancourse.curves import DIAGNOSES, true_diagnoses
from tests.check_answers import Wrong, assert_passes, assert_rejects, not_done


# --- the analytic saturation gradient ----------------------------------------------------------------
def sat_solution(logits):
    d = torch.sigmoid(logits)
    return -d, -(1 - d)


def sat_autograd(logits):
    l = logits.detach().clone().requires_grad_(True)
    (mm,) = torch.autograd.grad(-F.softplus(l).sum(), l)
    (ns,) = torch.autograd.grad(F.softplus(-l).sum(), l)
    return mm, ns


SAT_WRONG = {
    "sign flipped": Wrong(lambda l: (torch.sigmoid(l), 1 - torch.sigmoid(l)), "sign flipped", "value"),
    "swapped": Wrong(lambda l: (-(1 - torch.sigmoid(l)), -torch.sigmoid(l)), "swapped", "value"),
    "w.r.t. D, not the logit": Wrong(lambda l: (-1 / (1 - torch.sigmoid(l)), -1 / torch.sigmoid(l)), "w.r.t. D(G(z))", "value"),
    "averaged": Wrong(lambda l: (-torch.sigmoid(l) / len(l), -(1 - torch.sigmoid(l)) / len(l)), "per-sample", "value"),
    "one of them wrong": Wrong(lambda l: (-torch.sigmoid(l), -torch.sigmoid(l) * (1 - torch.sigmoid(l))),
                               "non-saturating gradient is", "value"),
    "eps in the formula": Wrong(lambda l: (-torch.sigmoid(l), -(1 - torch.sigmoid(l)) - 1e-3), "non-saturating gradient is", "extreme"),
    "clamped logits": Wrong(lambda l: sat_solution(l.clamp(-20, 20)), "no eps, no clamp", "extreme"),
    "clamped in place": Wrong(lambda l: sat_solution(l.clamp_(-50, 50)), "changed in place", "state"),
    "numpy round trip": Wrong(lambda l: tuple(torch.from_numpy(t.numpy()).float() for t in sat_solution(l)), "keep their dtype", "device"),
    "reduced to a scalar": Wrong(lambda l: (-torch.sigmoid(l).mean(), -(1 - torch.sigmoid(l)).mean()), "one gradient per logit", "shapes"),
    "flattened": Wrong(lambda l: tuple(t.flatten() for t in sat_solution(l)), "one gradient per logit", "shapes"),
    "in place": Wrong(lambda l: (-l.sigmoid_(), -(1 - l)), "changed in place", "state"),
    "float32 always": Wrong(lambda l: tuple(t.float() for t in sat_solution(l)), "keep their dtype", "device"),
    "a list of three": Wrong(lambda l: [*sat_solution(l), l], "return a pair", "crash"),
    "numbers": Wrong(lambda l: (1.0, 2.0), "return a pair", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
SAT_RIGHT = {"sigmoid": sat_solution, "autograd": sat_autograd,
             "sigmoid(-l)": lambda l: (-torch.sigmoid(l), -torch.sigmoid(-l)),
             "exp form": lambda l: (-1 / (1 + torch.exp(-l)), -1 / (1 + torch.exp(l)))}


@pytest.mark.parametrize("case", list(SAT_RIGHT))
def test_saturation_gradients_accepts(case, capsys):
    assert_passes(checks.check_saturation_gradients, SAT_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(SAT_WRONG))
def test_saturation_gradients_rejects(case, capsys):
    assert_rejects(checks.check_saturation_gradients, SAT_WRONG[case], capsys)


# --- where the minimax loss stops teaching ---------------------------------------------------------
LOGIT_WRONG = {
    "non-saturating threshold": Wrong(lambda eps: math.log((1 - eps) / eps), "non-saturating gradient", "value"),
    "probability": Wrong(lambda eps: eps, "that is a probability", "value"),
    "log eps": Wrong(lambda eps: math.log(eps), "small-eps limit", "value"),
    "log of 1 - eps": Wrong(lambda eps: math.log(1 - eps), "solve sigmoid(l) = eps", "value"),
    "a tensor of two": Wrong(lambda eps: torch.tensor([eps, eps]), "return one number", "crash"),
    "a string": Wrong(lambda eps: f"{math.log(eps / (1 - eps)):.3f}", "return one number", "crash"),
    "None": Wrong(lambda eps: None, "return one number", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
LOGIT_RIGHT = {"math.log": lambda eps: math.log(eps / (1 - eps)), "torch.logit": lambda eps: torch.logit(torch.tensor(eps)),
               "log difference": lambda eps: math.log(eps) - math.log1p(-eps),
               "float64 tensor": lambda eps: torch.log(torch.tensor(eps, dtype=torch.float64) / (1 - eps)),
               "NumPy float32": lambda eps: np.float32(math.log(eps / (1 - eps)))}


@pytest.mark.parametrize("case", list(LOGIT_RIGHT))
def test_saturation_logit_accepts(case, capsys):
    assert_passes(checks.check_saturation_logit, LOGIT_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(LOGIT_WRONG))
def test_saturation_logit_rejects(case, capsys):
    assert_rejects(checks.check_saturation_logit, LOGIT_WRONG[case], capsys)


# --- Algorithm 1 with k discriminator steps ----------------------------------------------------------
def k_loop(order="DG", fresh=True, k_offset=0, outside=False, merge="last", keep=True):
    def train(d_step, g_step, next_batch, num_steps, k):
        history = []
        if outside:
            for _ in range(k):
                d_stats = d_step(next_batch())
        batch = next_batch() if not fresh else None
        for _ in range(num_steps):
            if order == "GD":
                g_stats = g_step()
            all_d = []
            for _ in range(0 if outside else k + k_offset):
                d_stats = d_step(next_batch() if fresh else batch)
                all_d.append(d_stats)
            if order == "DG":
                g_stats = g_step()
            if merge == "mean" and all_d:
                d_stats = {key: sum(s[key] for s in all_d) / len(all_d) for key in all_d[0]}
            record = {**d_stats, **g_stats}
            if keep:
                history.append(record)
        return history if keep else record
    return train


def k_loop_while(d_step, g_step, next_batch, num_steps, k):
    """Written with a counter instead of nested for-loops."""
    history, d_count, d_stats = [], 0, None
    while len(history) < num_steps:
        if d_count < k:
            d_stats, d_count = d_step(next_batch()), d_count + 1
        else:
            history.append({**d_stats, **g_step()})
            d_count = 0
    return history


K_WRONG = {
    "G first": Wrong(k_loop(order="GD"), "updates D first", "value"),
    "k - 1 D steps": Wrong(k_loop(k_offset=-1), "range(k) runs k times", "value"),
    "k + 1 D steps": Wrong(k_loop(k_offset=1), "range(k) runs k times", "value"),
    "k D steps once, before the loop": Wrong(k_loop(outside=True), "before each G step", "hint"),
    "one batch reused": Wrong(k_loop(fresh=False), "fresh minibatch", "independent"),
    "last record only": Wrong(k_loop(keep=False), "return a list", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
K_RIGHT = {"nested loops": k_loop(), "counter": k_loop_while, "mean of the D steps": k_loop(merge="mean")}


@pytest.mark.parametrize("case", list(K_RIGHT))
def test_k_step_training_accepts(case, capsys):
    assert_passes(checks.check_k_step_training, K_RIGHT[case], capsys)


@pytest.mark.parametrize("case", list(K_WRONG))
def test_k_step_training_rejects(case, capsys):
    assert_rejects(checks.check_k_step_training, K_WRONG[case], capsys)


# --- reading training curves --------------------------------------------------------------------------
def answers(**changes):
    out = true_diagnoses()
    out.update(changes)
    return out


CURVES_WRONG = {
    "swapped labels read as healthy": Wrong(answers(A="healthy"), "which of D(x) and D(G(z)) goes to 1", "hint"),
    "saturation read as G not learning": Wrong(answers(B="G does not learn", C="saturated"), "gradient norm", "hint"),
    "D not learning read as detached fakes": Wrong(answers(D="healthy"), "is D learning", "hint"),
    "not a choice": Wrong(answers(A="mode collapse"), "not one of the choices", "crash"),
    "a run missing": Wrong({"A": "labels swapped"}, "one answer for each run", "crash"),
    "a list": Wrong(list(true_diagnoses().values()), "one answer for each run", "crash"),
}


def test_curve_diagnosis_accepts(capsys):
    assert_passes(checks.check_curve_diagnosis, answers(), capsys)
    assert set(true_diagnoses().values()) <= set(DIAGNOSES)


@pytest.mark.parametrize("case", list(CURVES_WRONG))
def test_curve_diagnosis_rejects(case, capsys):
    assert_rejects(checks.check_curve_diagnosis, CURVES_WRONG[case], capsys)


def test_mystery_runs_match_the_answer_key():
    from gancourse.curves import mystery_runs
    runs = mystery_runs(num_steps=3)
    assert set(runs) == set(true_diagnoses())
    assert all(len(h) == 3 and {"d_real", "d_fake", "grad_norm_g"} <= set(h[0]) for h in runs.values())
