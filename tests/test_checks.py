"""What every self-check promises: one line, a result that shows nothing more, no crash, no side effects.

The catalogues of wrong and correct answers, per lecture, are in tests/test_checks_*.py.
"""
import inspect

import pytest
import torch
from torch import nn

from gancourse import checks
from gancourse.checks import CheckResult
from gancourse.checks._base import Fail, check, describe

ALL = [getattr(checks, name) for name in checks.__all__ if name.startswith("check_")]
ODD_ANSWERS = [None, 3, "a string", (1, 2), [torch.zeros(2)], torch.zeros(3, dtype=torch.long), nn.Identity(),
               lambda *a: None, lambda *a: torch.zeros(2, 2, device="meta"), lambda *a: (_ for _ in ()).throw(ValueError("boom")),
               lambda *a: "x" * 500]


def test_every_check_is_exported_and_documented():
    assert len(ALL) == 40
    for fn in ALL:
        assert fn.__doc__ and fn.__name__.startswith("check_"), fn


@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
@pytest.mark.parametrize("answer", range(len(ODD_ANSWERS)))
def test_a_check_never_crashes(fn, answer, capsys):
    """Whatever comes back (a wrong type, an exception, a tensor on another device), the check
    prints one [FAIL] line with a hint, and returns a false result."""
    args = [ODD_ANSWERS[answer]] * len(inspect.signature(fn).parameters)
    result = fn(*args)
    out = capsys.readouterr().out
    assert isinstance(result, CheckResult) and not result
    assert out.startswith("[FAIL]") and " - hint: " in out and out.count("\n") == 1, out


def test_the_result_shows_nothing_in_a_notebook(capsys):
    """IPython displays a cell's last value unless it has ``_ipython_display_``: the check has
    printed its line already, so the result adds nothing (no stray ``True``)."""
    result = checks.check_receptive_field(lambda layers: 70)
    assert hasattr(result, "_ipython_display_") and result._ipython_display_() is None
    assert not result and result == False and result.passed is False  # noqa: E712 - comparing with bool on purpose
    capsys.readouterr()


def test_checks_leave_the_random_state_alone(capsys):
    from gancourse.conditional import mismatched_labels
    from gancourse.train import discriminator_step
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    checks.check_mismatched_labels(mismatched_labels)
    checks.check_gain_hint(lambda m, r: m * (torch.rand_like(m) < r).float())
    checks.check_discriminator_step(discriminator_step)  # seeds its own draws, on a forked state
    assert torch.equal(torch.rand(3), expected)
    capsys.readouterr()


def test_check_decorator_reports_unexpected_errors_as_fail(capsys):
    @check("demo")
    def demo(x):
        if x == 1:
            raise Fail("one", "two")
        return {}[x]  # a KeyError inside the check itself

    assert not demo(1) and "[FAIL] demo: one - hint: two" in capsys.readouterr().out
    assert not demo(2) and "could not use what came back (KeyError" in capsys.readouterr().out


def test_describe_names_type_dtype_shape_device():
    assert describe(torch.zeros(2, 3, dtype=torch.float64)) == "a float64 tensor of shape (2, 3) on cpu"
    assert describe((1, 2)) == "a tuple of 2 (int, int)"
    assert "\n" not in describe("a\nb")
