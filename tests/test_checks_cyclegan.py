"""Lecture 11's self-checks: the cycle-consistency loss, the pool of past fakes, CycleGAN's generator loss."""
import random

import pytest
import torch
import torch.nn.functional as F

from gancourse import checks
from gancourse.models.cyclegan import ImagePool, cycle_loss, cyclegan_generator_loss
from tests.check_answers import Wrong, assert_passes, assert_rejects, not_done


def l1(x, y):
    return (x - y).abs().mean()


CYCLE_WRONG = {
    "order swapped": Wrong(lambda G, Fm, a, b: l1(G(Fm(a)), a) + l1(Fm(G(b)), b), "the order is F(G(a))", "value"),
    "squared error": Wrong(lambda G, Fm, a, b: F.mse_loss(Fm(G(a)), a) + F.mse_loss(G(Fm(b)), b), "squared error", "value"),
    "summed": Wrong(lambda G, Fm, a, b: F.l1_loss(Fm(G(a)), a, reduction="sum") + F.l1_loss(G(Fm(b)), b, reduction="sum"),
                    "do not sum", "value"),
    "averaged": Wrong(lambda G, Fm, a, b: (l1(Fm(G(a)), a) + l1(G(Fm(b)), b)) / 2, "added, not averaged", "value"),
    "a only": Wrong(lambda G, Fm, a, b: l1(Fm(G(a)), a), "only a's cycle", "value"),
    "b only": Wrong(lambda G, Fm, a, b: l1(G(Fm(b)), b), "only b's cycle", "value"),
    "crossed": Wrong(lambda G, Fm, a, b: l1(Fm(G(a)), b) + l1(G(Fm(b)), a), "with the image it started from", "value"),
    "identity": Wrong(lambda G, Fm, a, b: l1(G(b), b) + l1(Fm(a), a), "that is the identity loss", "value"),
    "half cycle": Wrong(lambda G, Fm, a, b: l1(G(a), a) + l1(Fm(b), b), "compare the reconstruction", "value"),
    "mean then abs": Wrong(lambda G, Fm, a, b: (Fm(G(a)) - a).mean().abs() + (G(Fm(b)) - b).mean().abs(),
                           "absolute value of the mean", "value"),
    "rmse": Wrong(lambda G, Fm, a, b: F.mse_loss(Fm(G(a)), a).sqrt() + F.mse_loss(G(Fm(b)), b).sqrt(), "rooted", "value"),
    "G(a) detached": Wrong(lambda G, Fm, a, b: l1(Fm(G(a).detach()), a) + l1(G(Fm(b)), b), "reaching G's weights", "extreme"),
    "F(b) detached": Wrong(lambda G, Fm, a, b: l1(Fm(G(a)), a) + l1(G(Fm(b).detach()), b), "reaching F's weights", "extreme"),
    "all detached": Wrong(lambda G, Fm, a, b: cycle_loss(G, Fm, a, b).detach(), "not connected", "extreme"),
    "backward inside": Wrong(lambda G, Fm, a, b: (lambda l: (l.backward(retain_graph=True), l)[1])(cycle_loss(G, Fm, a, b)),
                             "a backward pass reached", "state"),
    "eval mode": Wrong(lambda G, Fm, a, b: cycle_loss(G.eval(), Fm.eval(), a, b), "eval mode", "state"),
    "in place": Wrong(lambda G, Fm, a, b: cycle_loss(G, Fm, a.clamp_(-1, 1).mul_(1.0), b), "in place", "state"),
    "float32": Wrong(lambda G, Fm, a, b: cycle_loss(G, Fm, a, b).float(), "keep the images' dtype", "device"),
    "cpu tensor": Wrong(lambda G, Fm, a, b: l1(Fm(G(a)) + torch.zeros(a.shape[1:]), a) + l1(G(Fm(b)), b), "CPU",
                        "device"),
    "item": Wrong(lambda G, Fm, a, b: cycle_loss(G, Fm, a, b).item(), "expected a tensor", "crash"),
    "per-image vector": Wrong(lambda G, Fm, a, b: (Fm(G(a)) - a).abs().flatten(1).mean(1)
                              + l1(G(Fm(b)), b), "expected a scalar", "shapes"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
CYCLE_RIGHT = {
    "reference": cycle_loss,
    "l1_loss": lambda G, Fm, a, b: F.l1_loss(Fm(G(a)), a) + F.l1_loss(G(Fm(b)), b),
    "stacked": lambda G, Fm, a, b: torch.stack([(Fm(G(a)) - a).abs().mean(), (G(Fm(b)) - b).abs().mean()]).sum(),
    "b first": lambda G, Fm, a, b: (b - G(Fm(b))).abs().mean() + (a - Fm(G(a))).abs().mean(),
}


@pytest.mark.parametrize("case", CYCLE_WRONG)
def test_cycle_check_rejects(case, capsys):
    assert_rejects(checks.check_cycle_loss, CYCLE_WRONG[case], capsys)


@pytest.mark.parametrize("case", CYCLE_RIGHT)
def test_cycle_check_accepts(case, capsys):
    assert_passes(checks.check_cycle_loss, CYCLE_RIGHT[case], capsys)


# --- the pool -------------------------------------------------------------------------------------------
def pool(coin=lambda: torch.rand(()) < 0.5, slot=lambda size: int(torch.randint(size, ())), fill=True,
         replace=True, detach=True, copy=True, per_batch=False, zero_guard=True, keep_in_list=False):
    """An ImagePool whose forward has one of the usual mistakes (the defaults are right)."""

    class Pool(ImagePool):
        def __init__(self, size, shape):
            super().__init__(size, shape)
            self.kept = []

        def forward(self, fakes):
            if zero_guard and self.size == 0:
                return fakes.detach() if detach else fakes
            out = (fakes.detach() if detach else fakes).clone() if copy else fakes.detach()
            batch_coin = coin()
            for i in range(len(out)):
                n = len(self.kept) if keep_in_list else int(self.count)
                if n < self.size and fill:
                    if keep_in_list:
                        self.kept.append(out[i].detach().clone())
                    else:
                        with torch.no_grad():
                            self.images[n] = out[i]
                        self.count += 1
                elif batch_coin if per_batch else coin():
                    j = slot(self.size)
                    store = self.kept if keep_in_list else self.images
                    old = store[j].clone()
                    if replace:
                        with torch.no_grad():
                            store[j] = out[i].detach()
                    with torch.no_grad():
                        out[i] = old
            return out
    Pool.__name__ = "MyPool"
    return Pool


POOL_WRONG = {
    "never swaps": Wrong(pool(coin=lambda: False), "were never swapped", "distribution"),
    "always swaps": Wrong(pool(coin=lambda: True), "expected 50%", "distribution"),
    "python random": Wrong(pool(coin=lambda: random.random() < 0.5), "the same torch seed gave different batches",
                           "distribution"),
    "python slot": Wrong(pool(slot=lambda size: random.randrange(size)), "the same torch seed", "distribution"),
    "one coin per batch": Wrong(pool(per_batch=True), "a coin per fake", "distribution"),
    "first slot only": Wrong(pool(slot=lambda size: 0), "not uniformly", "distribution"),
    "never stores": Wrong(pool(fill=False), "while the pool fills", "state"),
    "swap without replace": Wrong(pool(replace=False), "lost or duplicated", "state"),
    "a python list": Wrong(pool(keep_in_list=True), "count is 0", "state"),
    "no size-0 guard": Wrong(pool(zero_guard=False, slot=lambda size: int(torch.randint(max(size, 1), ()))),
                             "size 0", "value"),
    "not detached": Wrong(pool(detach=False), "graph", "state"),
    "no copy": Wrong(pool(copy=False), "in place", "state"),
    "returns the fakes": Wrong(type("MyPool", (ImagePool,), {"forward": lambda self, f: f.detach()}), "count is 0",
                               "state"),
    "wrong shape": Wrong(type("MyPool", (ImagePool,), {"forward": lambda self, f: self.images}), "one image per fake",
                         "shapes"),
    "not a module": Wrong(lambda size, shape: (lambda f: f), "nn.Module", "crash"),
}


class VectorisedPool(ImagePool):
    """Right, written another way: the decisions for a whole batch drawn in one call each."""

    @torch.no_grad()
    def forward(self, fakes):
        out = fakes.detach().clone()
        if self.size == 0:
            return out
        for i in range(len(out)):
            if self.count < self.size:
                self.images[self.count] = out[i]
                self.count.add_(1)
            elif torch.rand(1).item() > 0.5:
                j = torch.randint(0, self.size, (1,)).item()
                out[i], self.images[j] = self.images[j].clone(), out[i].clone()
        return out


POOL_RIGHT = {"reference": ImagePool, "written another way": VectorisedPool, "mistake-free helper": pool()}


@pytest.mark.parametrize("case", POOL_WRONG)
def test_pool_check_rejects(case, capsys):
    assert_rejects(checks.check_image_pool, POOL_WRONG[case], capsys)


def test_pool_check_stops_an_untouched_exercise(capsys):
    with pytest.raises(NotImplementedError, match="Exercise 1.1"):
        checks.check_image_pool(type("MyPool", (ImagePool,), {"forward": lambda self, f: not_done()}))
    assert capsys.readouterr().out.startswith("[FAIL] image pool: not implemented yet")


@pytest.mark.parametrize("case", POOL_RIGHT)
def test_pool_check_accepts(case, capsys):
    assert_passes(checks.check_image_pool, POOL_RIGHT[case], capsys)


# --- the generator loss -------------------------------------------------------------------------------
def gen_loss(swap_d=False, bce=False, target=1.0, idt_weight="product", idt_domain="own", cycle=True, adv_half=False,
             only=None):
    def fn(G, Fm, D_A, D_B, a, b, lc, li):
        fake_b, fake_a = G(a), Fm(b)
        db, da = (D_A, D_B) if swap_d else (D_B, D_A)
        if bce:
            adv = [F.binary_cross_entropy_with_logits(s, torch.ones_like(s)) for s in (db(fake_b), da(fake_a))]
        else:
            adv = [((db(fake_b) - target) ** 2).mean(), ((da(fake_a) - target) ** 2).mean()]
        adv = adv[0] if only == "b" else adv[1] if only == "a" else adv[0] + adv[1]
        adv = adv / 2 if adv_half else adv
        cyc = l1(Fm(fake_b), a) + l1(G(fake_a), b)
        idt = l1(G(b), b) + l1(Fm(a), a) if idt_domain == "own" else l1(G(a), a) + l1(Fm(b), b)
        w = lc * li if idt_weight == "product" else li if idt_weight == "alone" else 0.0
        return adv + (lc * cyc if cycle else 0.0) + w * idt
    return fn


GEN_WRONG = {
    "discriminators swapped": Wrong(gen_loss(swap_d=True), "discriminators are swapped", "value"),
    "cross-entropy": Wrong(gen_loss(bce=True), "least squares", "value"),
    "target 0": Wrong(gen_loss(target=0.0), "(D - 1)^2, not D^2", "value"),
    "identity weight alone": Wrong(gen_loss(idt_weight="alone"), "lambda_cycle x lambda_identity", "value"),
    "identity on the other domain": Wrong(gen_loss(idt_domain="other"), "OWN target domain", "value"),
    "no identity": Wrong(gen_loss(idt_weight="none"), "identity term is missing", "value"),
    "no cycle": Wrong(gen_loss(cycle=False), "cycle term is missing", "value"),
    "halved adversarial": Wrong(gen_loss(adv_half=True), "no factor 1/2", "value"),
    "D_B only": Wrong(gen_loss(only="b"), "only D_B's term", "value"),
    "D_A only": Wrong(gen_loss(only="a"), "only D_A's term", "value"),
    "cycle unweighted": Wrong(lambda G, Fm, Da, Db, a, b, lc, li: gen_loss()(G, Fm, Da, Db, a, b, lc, li)
                              - (lc - 1) * cycle_loss(G, Fm, a, b), "weight the cycle term", "value"),
    "fakes detached": Wrong(lambda G, Fm, Da, Db, a, b, lc, li: ((Db(G(a).detach()) - 1) ** 2).mean()
                            + ((Da(Fm(b)) - 1) ** 2).mean() + lc * cycle_loss(G, Fm, a, b)
                            + lc * li * (l1(G(b), b) + l1(Fm(a), a)), "reaching G's weights", "extreme"),
    "in place": Wrong(lambda G, Fm, Da, Db, a, b, lc, li: cyclegan_generator_loss(G, Fm, Da, Db, a, b.mul_(1.0), lc, li),
                      "in place", "state"),
    "cpu ones": Wrong(lambda G, Fm, Da, Db, a, b, lc, li: ((Db(G(a)) - torch.ones(1)) ** 2).mean()
                      + ((Da(Fm(b)) - 1) ** 2).mean() + lc * cycle_loss(G, Fm, a, b)
                      + lc * li * (l1(G(b), b) + l1(Fm(a), a)), "CPU", "device"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}
GEN_RIGHT = {
    "reference": cyclegan_generator_loss,
    "helper": gen_loss(),
    "mse_loss and the cycle loss": lambda G, Fm, Da, Db, a, b, lc, li: (
        F.mse_loss(Db(G(a)), torch.ones_like(Db(G(a)))) + F.mse_loss(Da(Fm(b)), torch.ones_like(Da(Fm(b))))
        + lc * cycle_loss(G, Fm, a, b) + lc * li * (F.l1_loss(G(b), b) + F.l1_loss(Fm(a), a))),
}


@pytest.mark.parametrize("case", GEN_WRONG)
def test_generator_loss_check_rejects(case, capsys):
    assert_rejects(checks.check_cyclegan_generator_loss, GEN_WRONG[case], capsys)


@pytest.mark.parametrize("case", GEN_RIGHT)
def test_generator_loss_check_accepts(case, capsys):
    assert_passes(checks.check_cyclegan_generator_loss, GEN_RIGHT[case], capsys)


# --- an independent reviewer's answers: every wrong one must fail, every right one pass -------------------
from tests.review_cyclegan import cycle as review_cycle, gen as review_gen, pool as review_pool  # noqa: E402

REVIEW = [(check, name, ok, answer) for check, module in ((checks.check_cycle_loss, review_cycle),
                                                          (checks.check_image_pool, review_pool),
                                                          (checks.check_cyclegan_generator_loss, review_gen))
          for name, ok, answer in module.A]


@pytest.mark.parametrize("case", range(len(REVIEW)), ids=[f"{c.__name__}-{n}" for c, n, _, _ in REVIEW])
def test_reviewers_answers(case, capsys):
    check, name, ok, answer = REVIEW[case]
    result = check(answer)
    out = capsys.readouterr().out
    assert bool(result) == ok and out.startswith("[PASS]" if ok else "[FAIL]") and " - hint: " in out or ok, out
