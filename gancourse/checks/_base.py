"""What every self-check shares: fixed test tensors, the PASS/FAIL report, safe calls."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

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


def _wrong_shape(name: str, value, shape: tuple, hint: str) -> bool | None:
    """A FAIL report unless ``value`` is a tensor of exactly ``shape``; None when it is."""
    if isinstance(value, Tensor) and value.shape == shape:
        return None
    return _report(name, f"returned {type(value).__name__} {tuple(getattr(value, 'shape', ()))}, "
                         f"expected a tensor of shape {tuple(shape)}", hint)


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
