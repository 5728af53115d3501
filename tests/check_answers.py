"""What the self-check tests share: how to feed a check an answer, and the classes of wrong answers.

Each catalogue maps a case to ``Wrong(answer, message, kind)``: the check must print [FAIL] with
``message`` in it. ``kind`` names the class of mistake (the issue's numbering), so a catalogue's
coverage can be counted: value, extreme (gradients at extreme logits, connectivity), trace (what
forward runs), independent (copy-paste hidden by symmetric inputs), shapes, distribution, state
(side effects), device (device and dtype), crash (wrong types), hint (the message names the mistake).
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import pytest
import torch
import torch.nn.functional as F

KINDS = ("value", "extreme", "trace", "independent", "shapes", "distribution", "state", "device", "crash", "hint")


class Wrong(NamedTuple):
    answer: Any
    message: str
    kind: str


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def not_done(*args, **kwargs):
    raise NotImplementedError("Exercise 1.1: ...")


def run(check: Callable, answer: Any):
    """Call ``check`` with ``answer`` (a tuple of answers is spread over the check's arguments)."""
    return check(*answer) if isinstance(answer, tuple) else check(answer)


def assert_rejects(check: Callable, wrong: Wrong, capsys) -> None:
    assert wrong.kind in KINDS, wrong.kind
    untouched = wrong.answer is not_done or (isinstance(wrong.answer, tuple) and not_done in wrong.answer)
    if untouched:  # an untouched exercise: FAIL, then its NotImplementedError propagates
        with pytest.raises(NotImplementedError, match="Exercise 1.1"):
            run(check, wrong.answer)
    else:
        result = run(check, wrong.answer)
        assert not result and result.passed is False
    out = capsys.readouterr().out
    assert out.startswith("[FAIL]") and " - hint: " in out and out.count("\n") == 1, out
    assert wrong.message in out, out


def assert_passes(check: Callable, answer: Any, capsys) -> None:
    result = run(check, answer)
    out = capsys.readouterr().out
    assert result and out.startswith("[PASS]"), out
