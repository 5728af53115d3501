"""Self-checks of lecture 11: the cycle-consistency loss, the pool of past fakes, and the whole
generator objective of CycleGAN."""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from gancourse.checks._base import Fail, call, check, describe, expect_scalar, seeded
from gancourse.checks._modules import expect_one_device
from gancourse.models.cyclegan import ImagePool, cyclegan_generator_loss


class _Map(nn.Module):
    """A stand-in generator: a per-pixel affine map, a 3x3 convolution mixing neighbours, then tanh.
    Two of them with different weights do not commute, so F(G(a)) and G(F(a)) differ. Records the
    modes it was called in."""

    def __init__(self, channels: int, seed: int, dtype: torch.dtype) -> None:
        super().__init__()
        gen = seeded(seed)
        f64 = dict(generator=gen, dtype=torch.float64)
        self.scale = nn.Parameter((torch.rand(channels, 1, 1, **f64) + 0.5).to(dtype))
        self.shift = nn.Parameter((torch.rand(channels, 1, 1, **f64) - 0.5).to(dtype))
        self.kernel = nn.Parameter((torch.randn(channels, channels, 3, 3, **f64) * 0.3).to(dtype))
        self.modes: list[bool] = []

    def forward(self, x: Tensor) -> Tensor:
        self.modes.append(self.training)
        y = x * self.scale + self.shift
        return torch.tanh(y + torch.nn.functional.conv2d(y, self.kernel, padding=1))


class _Judge(nn.Module):
    """A stand-in PatchGAN: one score per 2x2 patch, unbounded (least squares scores are not logits)."""

    def __init__(self, channels: int, seed: int, dtype: torch.dtype) -> None:
        super().__init__()
        gen = seeded(seed)
        self.kernel = nn.Parameter((torch.randn(1, channels, 2, 2, generator=gen)).to(dtype))
        self.bias = nn.Parameter(torch.tensor(0.7 if seed % 2 else -0.4, dtype=dtype))

    def forward(self, x: Tensor) -> Tensor:
        return torch.nn.functional.conv2d(x, self.kernel) * 1.5 + self.bias


def _state(modules: dict[str, nn.Module]) -> dict:
    return {name: (m.training, [p.requires_grad for p in m.parameters()], [p.detach().clone() for p in m.parameters()])
            for name, m in modules.items()}


def _call_watching_backward(fn: Callable, modules: dict[str, nn.Module], *args, what: str):
    """Call ``fn``; a Fail if a backward pass reached any of the modules' weights during the call."""
    ran: list[str] = []
    hooks = [p.register_hook(lambda g, name=name: ran.append(name) or g)
             for name, m in modules.items() for p in m.parameters() if p.requires_grad]
    try:
        out = call(fn, *args, what=what)
    finally:
        for h in hooks:
            h.remove()
    if ran:
        raise Fail(f"a backward pass reached {ran[0]}'s weights inside the loss function",
                   "return the loss without calling backward() (and without zero_grad()): the training step does that")
    return out


def _expect_left_alone(before: dict, modules: dict[str, nn.Module]) -> None:
    """Each network's mode, requires_grad flags, weights and .grad as they were."""
    for name, m in modules.items():
        training, flags, weights = before[name]
        ran_in = getattr(m, "modes", [])  # the modes a stand-in was called in
        if m.training != training or (ran_in and ran_in[-1] != training):
            raise Fail(f"{name} was switched to {'train' if m.training else 'eval'} mode",
                       "call the networks as they are: no .eval() or .train() inside a loss")
        if [p.requires_grad for p in m.parameters()] != flags:
            raise Fail(f"{name}'s weights no longer require gradients (or now do)",
                       "leave requires_grad alone: the training step freezes D, not the loss")
        if any(not torch.equal(p.detach(), w) for p, w in zip(m.parameters(), weights)):
            raise Fail(f"{name}'s weights were changed", "a loss only reads the networks: no in-place edits of weights")
        if any(p.grad is not None for p in m.parameters()):
            raise Fail(f"the loss function filled .grad of {name}'s weights",
                       "return the loss: the training step calls backward(), not the loss")


def _l1(x: Tensor, y: Tensor) -> Tensor:
    return (x - y).abs().mean()


def _matches(value: Tensor, wrong: Callable[[], Tensor]) -> bool:
    """Whether ``value`` is what a mistake gives (a mistake that cannot run on these shapes is not it)."""
    try:
        with torch.no_grad():
            return bool(torch.allclose(value, wrong(), atol=1e-5, rtol=1e-4))
    except RuntimeError:
        return False


def _tolerance(dtype: torch.dtype) -> dict:
    """float64 answers must agree to float64 precision: a detour through float32 shows."""
    return dict(atol=1e-12, rtol=1e-10) if dtype == torch.float64 else dict(atol=1e-5, rtol=1e-4)


def _cases():
    """(G, F, a, b) of several shapes and dtypes, a's and b's values in [-1, 1]."""
    for n, c, size, dtype, seed in ((4, 1, 6, torch.float32, 1), (3, 3, 5, torch.float32, 2),
                                    (1, 1, 4, torch.float64, 3)):
        gen = seeded(seed + 10)  # drawn in float64: a detour through float32 loses digits
        a = (torch.rand(n, c, size, size, generator=gen, dtype=torch.float64) * 2 - 1).to(dtype)
        b = (torch.rand(n, c, size, size, generator=gen, dtype=torch.float64) * 2 - 1).to(dtype)
        yield _Map(c, seed, dtype), _Map(c, seed + 100, dtype), a, b


def _expect_inputs_kept(a: Tensor, b: Tensor, kept: tuple, versions: tuple) -> None:
    if not (torch.equal(a, kept[0]) and torch.equal(b, kept[1])) or (a._version, b._version) != versions:
        raise Fail("a or b was changed in place", "compute with new tensors; leave the caller's images alone")
    if a.requires_grad or b.requires_grad:
        raise Fail("a or b now requires a gradient", "the images are data: no requires_grad_() on them")


def _expect_gradients(loss: Tensor, reference: Tensor, modules: dict[str, nn.Module], hint: dict[str, str]) -> None:
    """The loss's gradient for every named module's weights equals the reference's."""
    params = [p for m in modules.values() for p in m.parameters()]
    if not loss.requires_grad:
        raise Fail("the loss is not connected to the generators' weights (no gradient)",
                   "keep the graph: no .detach(), .item() or torch.no_grad() on the way")
    try:
        got = torch.autograd.grad(loss, params, allow_unused=True, retain_graph=True)
    except RuntimeError as err:
        text = str(err)
        if "second time" in text:
            raise Fail("the loss's graph was already used by a backward()",
                       "return the loss without calling backward(): the training step does that") from None
        if "inplace" in text:
            raise Fail("an output of the networks was changed in place (clamp_, add_, ...)",
                       "compute with new tensors: x.clamp(-1, 1), not x.clamp_(-1, 1)") from None
        raise Fail(f"no gradient could be taken through the loss ({text.splitlines()[0][:80]})",
                   "leave the networks' requires_grad alone and do not detach their outputs") from None
    want = torch.autograd.grad(reference, params, allow_unused=True)
    i = 0
    for name, module in modules.items():
        for _ in module.parameters():
            g, w = got[i], want[i]
            i += 1
            if w is None:
                continue
            if g is None or not torch.allclose(g, w, atol=1e-5, rtol=1e-4):
                raise Fail(f"the gradient reaching {name}'s weights is {'missing' if g is None else 'wrong'}",
                           hint[name])


@check("cycle-consistency loss")
def check_cycle_loss(fn: Callable[[nn.Module, nn.Module, Tensor, Tensor], Tensor]) -> None:
    """Check ``fn(G, F, a, b)`` = mean |F(G(a)) - a| + mean |G(F(b)) - b| (G: A -> B, F: B -> A),
    a scalar that sends gradients into both G and F, with a, b and the networks' modes left alone."""
    for G, F, a, b in _cases():
        kept, versions = (a.clone(), b.clone()), (a._version, b._version)
        nets = {"G": G, "F": F}
        for mode in (False, True):  # called in eval mode, then in train mode: each must stay as it was
            G.train(mode), F.train(mode)
            G.modes.clear(), F.modes.clear()
            before = _state(nets)
            loss = expect_scalar(_call_watching_backward(fn, nets, G, F, a, b, what="your cycle loss"), "the cycle loss")
            _expect_inputs_kept(a, b, kept, versions)
            if G.modes + F.modes and set(G.modes + F.modes) != {mode}:
                raise Fail(f"G or F ran in {'train' if mode is False else 'eval'} mode when called in "
                           f"{'train' if mode else 'eval'} mode", "call the networks as they are: no .eval() or .train()")
            _expect_left_alone(before, nets)
        if loss.dtype != a.dtype:
            raise Fail(f"the loss is {loss.dtype} for images in {a.dtype}", "keep the images' dtype: no .float()")
        with torch.no_grad():
            ga, fb = G(a), F(b)
            want = _l1(F(ga), a) + _l1(G(fb), b)
            mistakes = {
                "the order is F(G(a)): G first takes a to B, then F brings it back (and G(F(b)) for b)":
                    lambda: _l1(G(F(a)), a) + _l1(F(G(b)), b),
                "that is the squared error; the cycle loss is L1, mean |F(G(a)) - a|":
                    lambda: ((F(ga) - a) ** 2).mean() + ((G(fb) - b) ** 2).mean(),
                "average each cycle's error over pixels with .mean(), do not sum":
                    lambda: (F(ga) - a).abs().sum() + (G(fb) - b).abs().sum(),
                "the two cycles are added, not averaged: mean |F(G(a)) - a| + mean |G(F(b)) - b|":
                    lambda: 0.5 * want,
                "only a's cycle: add the cycle of b, mean |G(F(b)) - b|": lambda: _l1(F(ga), a),
                "only b's cycle: add the cycle of a, mean |F(G(a)) - a|": lambda: _l1(G(fb), b),
                "each reconstruction is compared with the image it started from: F(G(a)) with a, G(F(b)) with b":
                    lambda: _l1(F(ga), b) + _l1(G(fb), a),
                "that is the identity loss (G(b) vs b, F(a) vs a); the cycle goes through both generators":
                    lambda: _l1(G(b), b) + _l1(F(a), a),
                "compare the reconstruction with the original: F(G(a)) - a, not G(a) - a": lambda: _l1(ga, a) + _l1(fb, b),
                "L1 is the mean of absolute differences, not the absolute value of the mean difference":
                    lambda: (F(ga) - a).mean().abs() + (G(fb) - b).mean().abs(),
                "the difference is not squared and then rooted: mean |F(G(a)) - a|":
                    lambda: ((F(ga) - a) ** 2).mean().sqrt() + ((G(fb) - b) ** 2).mean().sqrt(),
            }
        value = loss.detach()
        tol = _tolerance(a.dtype)
        if not torch.allclose(value, want, **tol):
            hint = next((h for h, wrong in mistakes.items() if _matches(value, wrong)),
                        "compute in the images' dtype (no .float())" if torch.allclose(value, want, atol=1e-5, rtol=1e-4)
                        else "mean |F(G(a)) - a| + mean |G(F(b)) - b|")
            raise Fail(f"got {value.item():.8f}, expected {want.item():.8f}", hint)
        reference = _l1(F(G(a)), a) + _l1(G(F(b)), b)
        _expect_gradients(loss, reference, {"G": G, "F": F},
                          {"G": "both cycles pass through G: no .detach() on G(a) or on G(F(b))",
                           "F": "both cycles pass through F: no .detach() on F(b) or on F(G(a))"})
    G, F, a, b = next(_cases())
    expect_one_device(fn, G, F, a, b, hint="build the loss from the images and the networks' outputs, "
                                           "with no tensor made on a fixed device")


# --- the pool of past fakes -----------------------------------------------------------------------------
def _make_pool(pool_cls, size: int, shape: tuple) -> nn.Module:
    pool = call(pool_cls, size, shape, what=f"{getattr(pool_cls, '__name__', 'the pool')}({size}, {shape})")
    if not isinstance(pool, nn.Module):
        raise Fail(f"the pool is {describe(pool)}", "subclass ImagePool (an nn.Module) and keep its __init__")
    for name in ("images", "count"):
        if name not in dict(pool.named_buffers()):
            raise Fail(f"the pool has no buffer {name!r}", "keep ImagePool's __init__: call super().__init__(size, shape)")
    return pool


def _query(pool: nn.Module, fakes: Tensor, what: str = "pool(fakes)") -> Tensor:
    out = call(pool, fakes, what=what)
    if not isinstance(out, Tensor) or out.shape != fakes.shape:
        raise Fail(f"{what} returned {describe(out)} for fakes of shape {tuple(fakes.shape)}",
                   "return one image per fake: a batch of the same shape")
    return out


def _rows(t: Tensor) -> list:
    return sorted(t.detach().flatten(1).tolist())


@check("image pool")
def check_image_pool(pool_cls: type) -> None:
    """Check a subclass of ImagePool whose ``forward(fakes)`` returns the batch D trains on: while
    fewer than ``size`` images are stored, each fake is stored and passed on; once full, each fake
    is, with probability 1/2 drawn from torch's random stream, swapped for a uniformly chosen stored
    one (which it replaces), else passed on. The pool lives in the buffers ``images`` and ``count``;
    what comes back is detached and shares no memory with the pool or the caller's fakes."""
    shape = (1, 2, 2)
    # size 0: nothing is kept
    pool = _make_pool(pool_cls, 0, shape)
    fakes = torch.randn(3, *shape, requires_grad=True)
    out = _query(pool, fakes * 1.0)
    if not torch.equal(out.detach(), fakes.detach()):
        raise Fail("a pool of size 0 changed the fakes", "with size 0 there is nothing to swap: return the fakes")
    if out.requires_grad:
        raise Fail("the batch for D still carries the generator's graph", "return detached images: .detach()")

    # filling: every fake is stored and passed on, across a batch that crosses the boundary
    size = 6
    rng = torch.get_rng_state()
    pool = _make_pool(pool_cls, size, shape)
    if not torch.equal(rng, torch.get_rng_state()):
        raise Fail("building the pool moved torch's random state", "leave the global seed alone: no "
                   "torch.manual_seed in the pool; the training run seeds torch once")
    first = torch.arange(4 * 4, dtype=torch.float).view(4, *shape) + 1
    out = _query(pool, first.clone())
    if not torch.equal(out, first):
        raise Fail("while the pool fills, the fakes came back changed or reordered",
                   "until `size` images are stored, store each fake and pass it on unchanged")
    if int(pool.count) != 4 or _rows(pool.images[:4]) != _rows(first):
        raise Fail(f"after 4 fakes into an empty pool of 6, count is {int(pool.count)} and the first slots hold "
                   f"other images", "store each fake in self.images[self.count] and add 1 to self.count")
    held = pool.images.clone()
    out.add_(1000.0)
    if not torch.equal(pool.images, held):
        raise Fail("changing the returned batch changed the pool (while it fills)",
                   "store copies: the returned batch and the pool must not share memory")
    swapped_after_fill = 0
    for trial in range(5):  # a batch of 8 that fills the last 2 slots: the other 6 fakes each flip a coin
        pool = _make_pool(pool_cls, size, shape)
        _query(pool, first.clone())
        torch.manual_seed(10 + trial)
        second = torch.arange(8 * 4, dtype=torch.float).view(8, *shape) + 100 * (trial + 1)
        before = pool.images[:4].clone()
        out = _query(pool, second.clone())
        if int(pool.count) != size:
            raise Fail(f"after {4 + 8} fakes into a pool of {size}, count is {int(pool.count)}",
                       "count stops at size: add 1 only when a fake is stored in a free slot")
        if not torch.equal(out[:2], second[:2]):
            raise Fail("a batch that fills the pool's last 2 slots: its first 2 fakes must be stored and passed on",
                       "decide per fake: store while count < size, then swap with probability 1/2")
        if _rows(torch.cat([out[2:], pool.images])) != _rows(torch.cat([before, second])):
            raise Fail("images were lost or duplicated when the pool became full",
                       "a swap returns a stored image AND puts the new fake in its slot")
        swapped_after_fill += sum(not torch.equal(o, f) for o, f in zip(out[2:], second[2:]))
    if swapped_after_fill == 0:
        raise Fail("in a batch that fills the pool, the fakes after it was full were never swapped (5 tries)",
                   "decide for each fake: once the pool is full, the next fake of the same batch flips the coin")

    # full, one fake at a time: the coin's rate and which slot a swap takes
    torch.manual_seed(2)
    hits, single_swaps = torch.zeros(size), 0
    singles = 6000
    for i in range(singles):
        before = pool.images.clone()
        new = torch.full((1, *shape), 10000.0 + i)
        out = _query(pool, new.clone())
        if not torch.equal(out, new):
            single_swaps += 1
            changed = (pool.images != before).flatten(1).any(1).nonzero().flatten()
            if len(changed) != 1:
                raise Fail("one swap changed more or fewer than one slot of the pool",
                           "a swap puts the fake in the slot of the image it returns, and touches no other")
            hits[changed] += 1
    expected = single_swaps / size
    chi2 = ((hits - expected) ** 2 / max(expected, 1e-9)).sum().item()
    if single_swaps and chi2 > 25:  # 5 degrees of freedom: 25 is far beyond chance (p < 0.0002)
        raise Fail(f"swaps took the {size} slots {hits.int().tolist()} times: not uniformly",
                   "pick the stored image uniformly at random for each swap: torch.randint(size, ())")

    # full, batches of 8: conservation, a coin per fake, slots drawn per fake
    torch.manual_seed(3)
    swapped, per_batch, collisions, many, distinct = 0, [], 0, 0, []
    previous = None
    for i in range(150):
        before = pool.images.clone()
        new = torch.randn(8, *shape) + 10 * (i + 2)
        new_kept = new.clone()
        out = _query(pool, new)
        if not torch.equal(new, new_kept):
            raise Fail("the caller's fakes were changed in place", "build the returned batch as a new tensor (clone)")
        if previous is not None and not torch.equal(previous[0], previous[1]):
            raise Fail("a batch returned earlier changed when the pool was called again",
                       "return a new tensor on every call, not a buffer the pool reuses")
        previous = (out, out.clone())
        if int(pool.count) != size:
            raise Fail(f"a full pool's count became {int(pool.count)}", "once full, count stays at size")
        if _rows(torch.cat([out, pool.images])) != _rows(torch.cat([before, new])):
            raise Fail("what came out plus what stayed in is not what was in plus what came in",
                       "a swap returns the stored image AND stores the new fake in its slot; a pass stores nothing")
        n = sum(not torch.equal(o, f) for o, f in zip(out, new))
        changed = int((pool.images != before).flatten(1).any(1).sum())
        swapped, many = swapped + n, many + (n >= 3)
        collisions += n >= 3 and changed < n
        if n >= 4:
            distinct.append(changed)
        per_batch.append(n)
    rate = (swapped + single_swaps) / (150 * 8 + singles)
    if not 0.47 < rate < 0.53:  # 7,200 coins: 0.47 and 0.53 lie 5 standard deviations from 0.5
        raise Fail(f"{rate:.1%} of the fakes were swapped for stored ones, expected 50%",
                   "swap each fake with probability 1/2: torch.rand(()) < 0.5")
    spread = torch.tensor(per_batch, dtype=torch.float).var().item()
    if not 1.2 < spread < 3.0:  # a coin per fake: swaps per batch of 8 vary as a binomial's, variance 2
        raise Fail(f"the number of swaps per batch of 8 varies with variance {spread:.2f}, expected about 2 "
                   f"(a coin per fake)", "flip an independent coin for each fake: torch.rand(()) < 0.5, not a "
                   "fixed pattern or a fixed share of the batch")
    if distinct and sum(distinct) / len(distinct) < 2:  # 4 or more uniform slots among 6: about 3 distinct
        raise Fail(f"batches with 4 or more swaps changed {sum(distinct) / len(distinct):.1f} slots on average",
                   "draw a slot for each swap, not one for the whole batch: torch.randint(size, ()) inside the loop")
    if many and not 0.3 < collisions / many:
        raise Fail(f"in {many} batches with 3 or more swaps, two swaps shared a slot in {collisions}; with a "
                   f"uniform slot per swap most such batches have one", "draw the slot anew for each swap, with "
                   "repeats allowed: torch.randint(size, ()), not a permutation or a rotating pointer")

    # detached, independent memory, the caller's graph kept, the fakes' dtype kept
    pool = _make_pool(pool_cls, size, shape).double()  # a float64 model's pool: buffers converted by .double()
    torch.manual_seed(12)
    _query(pool, torch.randn(size, *shape, dtype=torch.float64))  # full now
    source = torch.randn(16, *shape, dtype=torch.float64, requires_grad=True)
    fakes = source * 1.0
    out = _query(pool, fakes)
    if not fakes.requires_grad or fakes.grad_fn is None:
        raise Fail("the caller's fakes lost their graph", "detach a copy (fakes.detach()), not the caller's tensor "
                   "in place (detach_())")
    if out.requires_grad:
        raise Fail("the batch for D still carries the generator's graph", "return detached images: .detach()")
    if out.dtype != fakes.dtype:
        raise Fail(f"float64 fakes came back as {out.dtype}", "build the batch from the fakes themselves "
                   "(fakes.detach().clone()): their dtype and device")
    if pool.images.requires_grad:
        raise Fail("the pool holds images with a graph", "store detached copies: fake.detach()")
    held = pool.images.clone()
    out.add_(1000.0)
    if not torch.equal(pool.images, held):
        raise Fail("changing the returned batch changed the pool", "return copies of the stored images (.clone())")

    # the random stream is torch's, and the state is in the buffers: a checkpoint resumes it exactly
    def run(seed: int, state=None) -> Tensor:
        p = _make_pool(pool_cls, size, shape)
        if state is not None:
            p.load_state_dict(state)
        torch.manual_seed(seed)
        return torch.cat([_query(p, torch.randn(8, *shape) + k * 7.0) for k in range(6)])
    if not torch.equal(run(5), run(5)):
        raise Fail("the same torch seed gave different batches", "draw the coin and the slot from torch's "
                   "random stream (torch.rand, torch.randint), not Python's random or NumPy, so a resumed run "
                   "makes the same choices")
    if torch.equal(run(5), run(6)):
        raise Fail("different torch seeds gave the same batches", "draw the coin and the slot from torch's random "
                   "stream: torch.rand(()) < 0.5, torch.randint(size, ())")
    filled = _make_pool(pool_cls, size, shape)
    torch.manual_seed(7)
    _query(filled, torch.randn(size + 3, *shape))
    state = {k: v.clone() for k, v in filled.state_dict().items()}
    torch.manual_seed(8)
    direct = torch.cat([_query(filled, torch.randn(8, *shape) + k * 7.0) for k in range(6)])
    if not torch.equal(direct, run(8, state)):
        raise Fail("a pool rebuilt from another's state_dict answers differently",
                   "keep the pool in the buffers self.images and self.count (write into them), not in a Python "
                   "list, and draw from torch's global random stream, not a generator of the pool's own: only "
                   "buffers are saved in a checkpoint")


# --- the whole generator objective --------------------------------------------------------------------
@check("CycleGAN generator loss")
def check_cyclegan_generator_loss(fn: Callable[..., Tensor]) -> None:
    """Check ``fn(G, F, D_A, D_B, a, b, lambda_cycle, lambda_identity)`` = mean (D_B(G(a)) - 1)^2 +
    mean (D_A(F(b)) - 1)^2 + lambda_cycle x cycle loss + lambda_cycle x lambda_identity x
    (mean |G(b) - b| + mean |F(a) - a|), with gradients into G and F."""
    for i, (G, F, a, b) in enumerate(_cases()):
        c = a.shape[1]
        D_A, D_B = _Judge(c, 40 + i, a.dtype), _Judge(c, 51 + i, a.dtype)
        nets = {"G": G, "F": F, "D_A": D_A, "D_B": D_B}
        for k, (lam_c, lam_i) in enumerate(((10.0, 0.5), (3.0, 2.0), (7.0, 0.0), (0.0, 0.5))):
            kept, versions = (a.clone(), b.clone()), (a._version, b._version)
            for m in nets.values():
                m.train(k % 2 == 0)  # eval mode for two of the calls: each network must stay as it was
            before = _state(nets)
            loss = expect_scalar(_call_watching_backward(fn, nets, G, F, D_A, D_B, a, b, lam_c, lam_i,
                                                         what="your generator loss"), "the generator loss")
            _expect_inputs_kept(a, b, kept, versions)
            _expect_left_alone(before, nets)
            if loss.dtype != a.dtype:
                raise Fail(f"the loss is {loss.dtype} for images in {a.dtype}", "keep the images' dtype: no .float()")
            want = cyclegan_generator_loss(G, F, D_A, D_B, a, b, lam_c, lam_i)
            value = loss.detach()
            if torch.allclose(value, want.detach(), **_tolerance(a.dtype)):
                continue
            if torch.allclose(value, want.detach(), atol=1e-5, rtol=1e-4):
                raise Fail(f"got {value.item():.10f}, expected {want.item():.10f}: float32 precision for float64 "
                           f"images", "compute in the images' dtype (no .float())")
            with torch.no_grad():
                ga, fb = G(a), F(b)
                adv = ((D_B(ga) - 1) ** 2).mean() + ((D_A(fb) - 1) ** 2).mean()
                cyc = _l1(F(ga), a) + _l1(G(fb), b)
                idt = _l1(G(b), b) + _l1(F(a), a)
                bce = lambda s: torch.nn.functional.binary_cross_entropy_with_logits(s, torch.ones_like(s))  # noqa: E731
                mistakes = {
                    "the discriminators are swapped: D_B judges G(a) (G makes B images), D_A judges F(b)":
                        ((D_A(ga) - 1) ** 2).mean() + ((D_B(fb) - 1) ** 2).mean() + lam_c * cyc + lam_c * lam_i * idt,
                    "CycleGAN's adversarial loss is least squares, mean (D(G(a)) - 1)^2, not cross-entropy":
                        bce(D_B(ga)) + bce(D_A(fb)) + lam_c * cyc + lam_c * lam_i * idt,
                    "the generators want D to say real: (D - 1)^2, not D^2":
                        (D_B(ga) ** 2).mean() + (D_A(fb) ** 2).mean() + lam_c * cyc + lam_c * lam_i * idt,
                    "the identity term's weight is lambda_cycle x lambda_identity (0.5 x 10 = 5 in the paper)":
                        adv + lam_c * cyc + lam_i * idt,
                    "the identity loss feeds each generator an image of its OWN target domain: G(b) vs b, F(a) vs a":
                        adv + lam_c * cyc + lam_c * lam_i * (_l1(G(a), a) + _l1(F(b), b)),
                    "the identity term is missing": adv + lam_c * cyc,
                    "the cycle term is missing": adv + lam_c * lam_i * idt,
                    "weight the cycle term by lambda_cycle": adv + cyc + lam_c * lam_i * idt,
                    "the adversarial terms are added, not averaged: no factor 1/2 for the generators":
                        0.5 * adv + lam_c * cyc + lam_c * lam_i * idt,
                    "only D_B's term: add F's adversarial term, mean (D_A(F(b)) - 1)^2":
                        ((D_B(ga) - 1) ** 2).mean() + lam_c * cyc + lam_c * lam_i * idt,
                    "only D_A's term: add G's adversarial term, mean (D_B(G(a)) - 1)^2":
                        ((D_A(fb) - 1) ** 2).mean() + lam_c * cyc + lam_c * lam_i * idt,
                }
            hint = next((h for h, wrong in mistakes.items() if torch.allclose(value, wrong, atol=1e-5, rtol=1e-4)),
                        "adversarial (least squares, both directions) + lambda_cycle * cycle + "
                        "lambda_cycle * lambda_identity * identity")
            raise Fail(f"lambda_cycle={lam_c:g}, lambda_identity={lam_i:g}: got {value.item():.5f}, expected "
                       f"{want.item():.5f}", hint)
        for m in nets.values():
            m.train()
        loss = call(fn, G, F, D_A, D_B, a, b, 10.0, 0.5, what="your generator loss")
        _expect_gradients(expect_scalar(loss, "the generator loss"), cyclegan_generator_loss(G, F, D_A, D_B, a, b),
                          {"G": G, "F": F},
                          {"G": "every term that G's output enters must pass gradients back: no .detach()",
                           "F": "every term that F's output enters must pass gradients back: no .detach()"})
    G, F, a, b = next(_cases())
    expect_one_device(fn, G, F, _Judge(1, 1, a.dtype), _Judge(1, 2, a.dtype), a, b, 10.0, 0.5,
                      hint="build the loss from the networks' outputs (torch.ones_like for targets), with no "
                           "tensor made on a fixed device")
