"""What every self-check shares: the PASS/FAIL report, its result, safe calls and type probes.

A check is a function decorated with ``@check("name")`` whose body raises ``Fail(problem, hint)``
at the first thing that is wrong and simply returns when all is right. The decorator prints the one
line a student sees and turns anything unexpected (a wrong type, an exception in the student's code
or in the check itself) into a ``[FAIL]`` that names what came back, so no check ever crashes.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import torch
from torch import Tensor


class Fail(Exception):
    """Raised inside a check: what is wrong, and a hint that names the likely mistake."""

    def __init__(self, problem: str, hint: str) -> None:
        super().__init__(problem)
        self.problem, self.hint = problem, hint


class NotDone(Exception):
    """The student's code still raises its exercise's NotImplementedError (kept in ``error``)."""

    def __init__(self, error: NotImplementedError) -> None:
        super().__init__(str(error))
        self.error = error


class CheckResult:
    """What a check returns: true when it passed. It shows nothing in a notebook, since the check
    has already printed its line; ``bool(result)`` or ``result.passed`` reads it."""

    def __init__(self, passed: bool, message: str) -> None:
        self.passed, self.message = passed, message

    def __bool__(self) -> bool:
        return self.passed

    def __eq__(self, other: object) -> bool:
        return bool(self) == bool(other) if isinstance(other, (bool, CheckResult)) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CheckResult(passed={self.passed})"

    def _ipython_display_(self) -> None:
        """Display nothing: the [PASS]/[FAIL] line above is the whole answer."""


def report(name: str, problem: str | None = None, hint: str = "") -> CheckResult:
    """Print ``[PASS] name`` or ``[FAIL] name: problem - hint: hint`` and return the result."""
    message = f"[PASS] {name}" if problem is None else f"[FAIL] {name}: {problem} - hint: {hint}"
    print(message)
    return CheckResult(problem is None, message)


def check(name: str) -> Callable[[Callable[..., None]], Callable[..., CheckResult]]:
    """Decorate a check body: ``Fail`` becomes [FAIL], an untouched exercise fails and re-raises,
    and any other exception (a type the check did not expect) becomes a [FAIL] naming it. The body
    runs on a forked random state seeded alike every time, so a check never moves the caller's and
    its verdict does not depend on what ran before it."""
    def decorate(body: Callable[..., None]) -> Callable[..., CheckResult]:
        @functools.wraps(body)
        def run(*args: Any, **kwargs: Any) -> CheckResult:
            try:
                with torch.random.fork_rng(devices=[]):  # the student's random state stays theirs
                    torch.random.default_generator.manual_seed(0)  # the same verdict whatever ran before
                    body(*args, **kwargs)
            except Fail as fail:
                return report(name, fail.problem, fail.hint)
            except NotDone as not_done:
                report(name, "not implemented yet", "replace `raise NotImplementedError(...)` with your code")
                raise not_done.error from None  # an untouched exercise stops here, at its own number
            except Exception as err:  # noqa: BLE001 - a check reports, it never crashes
                return report(name, f"the check could not use what came back ({type(err).__name__}: {err})",
                              "compare the type, shape and dtype of what you return with the exercise's text")
            return report(name)
        return run
    return decorate


def describe(value: Any) -> str:
    """A short description of what came back: type, and for tensors dtype, shape and device."""
    if isinstance(value, Tensor):
        return f"a {str(value.dtype).replace('torch.', '')} tensor of shape {tuple(value.shape)} on {value.device.type}"
    if isinstance(value, (tuple, list)):
        inner = ", ".join(type(v).__name__ for v in value[:4]) + (", ..." if len(value) > 4 else "")
        return f"a {type(value).__name__} of {len(value)} ({inner})"
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # a NumPy array
        return f"a {type(value).__name__} of dtype {value.dtype} and shape {tuple(value.shape)}"
    return f"{type(value).__name__} " + repr(value).replace("\n", " ")[:40]


_DTYPE_WORDS = ("dtype", "Double", "Float", "Half", "scalar type", "same type")
_DEVICE_WORDS = ("device", "meta")


def call(fn: Callable, *args: Any, what: str = "your code", **kwargs: Any) -> Any:
    """Run the student's code; an exception becomes a ``Fail`` whose hint names the likely cause."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as err:
        if str(err).startswith("Exercise"):
            raise NotDone(err) from None
        raise Fail(f"{what} raised NotImplementedError: {err}", "run the cell on its own to see the traceback") from None
    except Fail:
        raise
    except Exception as err:  # noqa: BLE001 - any error in student code is reported, not raised
        text = str(err).splitlines()[0][:160] if str(err) else ""
        hint = "run the cell on its own to see the full traceback"
        if "in-place operation" in text:
            hint = "it changes an input in place (x.clamp_(), x += ...): leave the caller's tensors alone"
        elif any(w in text for w in _DEVICE_WORDS):
            hint = "a tensor was created on a fixed device: pass device=x.device, or use torch.ones_like(x)"
        elif any(w in text for w in _DTYPE_WORDS):
            hint = "a tensor was created with a fixed dtype: use torch.ones_like(x), or dtype=x.dtype"
        raise Fail(f"{what} raised {type(err).__name__}: {text}", hint) from None


def expect_tensor(value: Any, *, shape: tuple | None = None, what: str = "the result", hint: str = "") -> Tensor:
    """``value`` itself when it is a floating tensor (of ``shape``, when given); else a Fail naming it."""
    if not isinstance(value, Tensor):
        raise Fail(f"{what} is {describe(value)}, expected a tensor",
                   hint or "return the tensor itself, not .item() or a list, so it can be backpropagated")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise Fail(f"{what} is {describe(value)}, expected shape {tuple(shape)}", hint or "check which dimension you reduced")
    return value


def expect_scalar(value: Any, what: str = "the loss") -> Tensor:
    """A 0-dim floating tensor, or a Fail that says what came back and how to make one."""
    value = expect_tensor(value, what=what)
    if value.dim() != 0:
        raise Fail(f"{what} is {describe(value)}, expected a scalar", "average over the batch with .mean()")
    if not value.is_floating_point():
        raise Fail(f"{what} is {describe(value)}, expected a floating-point scalar", "compute the loss in floats")
    return value


def as_number(value: Any) -> Any:
    """A one-element tensor or NumPy value as a Python number; anything else as it came."""
    if isinstance(value, bool):
        return value
    if (isinstance(value, Tensor) and value.numel() == 1) or (hasattr(value, "item") and getattr(value, "size", 0) == 1):
        return value.item()
    return value


def close(a: Any, b: Any, tol: float = 1e-4) -> bool:
    """Whether two numbers agree to a relative ``tol`` (never raises; NaN is never close)."""
    try:
        a, b = (float(v.detach()) if isinstance(v, Tensor) else float(v) for v in (a, b))
    except (TypeError, ValueError, RuntimeError):
        return False
    return abs(a - b) <= tol * max(1.0, abs(b))


def seeded(seed: int) -> torch.Generator:
    """A private random generator, so a check never touches the student's random state."""
    return torch.Generator().manual_seed(seed)
