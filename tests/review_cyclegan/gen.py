"""Answers written by an independent reviewer for the gen check of lecture 11: A lists (name, is_correct, answer)."""
import torch
import torch.nn.functional as Fn
from gancourse.models.cyclegan import cycle_loss

A = []
def W(f): A.append((f.__name__, False, f)); return f
def C(f): A.append((f.__name__, True, f)); return f
l1 = lambda x, y: (x - y).abs().mean()
ls = lambda s: ((s - 1) ** 2).mean()
def cyc(G, F, a, b): return l1(F(G(a)), a) + l1(G(F(b)), b)
def idt(G, F, a, b): return l1(G(b), b) + l1(F(a), a)
def ref(G, F, DA, DB, a, b, lc, li):
    return ls(DB(G(a))) + ls(DA(F(b))) + lc * cyc(G, F, a, b) + lc * li * idt(G, F, a, b)

@W
def g_D_swapped(G, F, DA, DB, a, b, lc, li): return ls(DA(G(a))) + ls(DB(F(b))) + lc * cyc(G, F, a, b) + lc * li * idt(G, F, a, b)
@W
def g_bce(G, F, DA, DB, a, b, lc, li):
    bce = lambda s: Fn.binary_cross_entropy_with_logits(s, torch.ones_like(s))
    return bce(DB(G(a))) + bce(DA(F(b))) + lc * cyc(G, F, a, b) + lc * li * idt(G, F, a, b)
@W
def g_D_squared(G, F, DA, DB, a, b, lc, li): return (DB(G(a)) ** 2).mean() + (DA(F(b)) ** 2).mean() + lc * cyc(G, F, a, b) + lc * li * idt(G, F, a, b)
@W
def g_id_weight(G, F, DA, DB, a, b, lc, li): return ls(DB(G(a))) + ls(DA(F(b))) + lc * cyc(G, F, a, b) + li * idt(G, F, a, b)
@W
def g_id_images(G, F, DA, DB, a, b, lc, li): return ls(DB(G(a))) + ls(DA(F(b))) + lc * cyc(G, F, a, b) + lc * li * (l1(G(a), a) + l1(F(b), b))
@W
def g_no_id(G, F, DA, DB, a, b, lc, li): return ls(DB(G(a))) + ls(DA(F(b))) + lc * cyc(G, F, a, b)
@W
def g_no_cyc(G, F, DA, DB, a, b, lc, li): return ls(DB(G(a))) + ls(DA(F(b))) + lc * li * idt(G, F, a, b)
@W
def g_cyc_unweighted(G, F, DA, DB, a, b, lc, li): return ls(DB(G(a))) + ls(DA(F(b))) + cyc(G, F, a, b) + lc * li * idt(G, F, a, b)
@W
def g_half_adv(G, F, DA, DB, a, b, lc, li): return 0.5 * (ls(DB(G(a))) + ls(DA(F(b)))) + lc * cyc(G, F, a, b) + lc * li * idt(G, F, a, b)
@W
def g_only_DB(G, F, DA, DB, a, b, lc, li): return ls(DB(G(a))) + lc * cyc(G, F, a, b) + lc * li * idt(G, F, a, b)
@W
def g_detach_to_D(G, F, DA, DB, a, b, lc, li): return ls(DB(G(a).detach())) + ls(DA(F(b))) + lc * cyc(G, F, a, b) + lc * li * idt(G, F, a, b)
@W
def g_nograd_identity(G, F, DA, DB, a, b, lc, li):
    with torch.no_grad():
        i = idt(G, F, a, b)
    return ls(DB(G(a))) + ls(DA(F(b))) + lc * cyc(G, F, a, b) + lc * li * i
@W
def g_freeze_D_left(G, F, DA, DB, a, b, lc, li):
    DA.requires_grad_(False); DB.requires_grad_(False)     # never restored
    return ref(G, F, DA, DB, a, b, lc, li)
@W
def g_eval_D_left(G, F, DA, DB, a, b, lc, li):
    DA.eval(); DB.eval()                                   # never restored
    return ref(G, F, DA, DB, a, b, lc, li)
@W
def g_eval_G_left(G, F, DA, DB, a, b, lc, li):
    G.eval(); F.eval()
    return ref(G, F, DA, DB, a, b, lc, li)
@W
def g_clip_D(G, F, DA, DB, a, b, lc, li):
    with torch.no_grad():
        for p in [*DA.parameters(), *DB.parameters()]: p.clamp_(-0.5, 0.5)
    return ref(G, F, DA, DB, a, b, lc, li)
@W
def g_backward_retain(G, F, DA, DB, a, b, lc, li):
    loss = ref(G, F, DA, DB, a, b, lc, li); loss.backward(retain_graph=True); return loss
@W
def g_backward(G, F, DA, DB, a, b, lc, li):
    loss = ref(G, F, DA, DB, a, b, lc, li); loss.backward(); return loss
@W
def g_float(G, F, DA, DB, a, b, lc, li): return ref(G, F, DA, DB, a, b, lc, li).float()
@W
def g_inputs_float(G, F, DA, DB, a, b, lc, li): return ref(G, F, DA, DB, a.float(), b.float(), lc, li)
@W
def g_cpu_ones(G, F, DA, DB, a, b, lc, li):
    s1, s2 = DB(G(a)), DA(F(b))
    return Fn.mse_loss(s1, torch.ones(s1.shape)) + Fn.mse_loss(s2, torch.ones(s2.shape)) + lc * cyc(G, F, a, b) + lc * li * idt(G, F, a, b)
@W
def g_cpu_ones1(G, F, DA, DB, a, b, lc, li):
    one = torch.ones(1)
    return ((DB(G(a)) - one) ** 2).mean() + ((DA(F(b)) - one) ** 2).mean() + lc * cyc(G, F, a, b) + lc * li * idt(G, F, a, b)
@W
def g_clamp_a(G, F, DA, DB, a, b, lc, li):
    a.clamp_(-1, 1); return ref(G, F, DA, DB, a, b, lc, li)
@W
def g_mse_sum(G, F, DA, DB, a, b, lc, li):
    s1, s2 = DB(G(a)), DA(F(b))
    return Fn.mse_loss(s1, torch.ones_like(s1), reduction="sum") + Fn.mse_loss(s2, torch.ones_like(s2), reduction="sum") + lc * cyc(G, F, a, b) + lc * li * idt(G, F, a, b)
@W
def g_smooth_target(G, F, DA, DB, a, b, lc, li):
    return ((DB(G(a)) - 0.9) ** 2).mean() + ((DA(F(b)) - 0.9) ** 2).mean() + lc * cyc(G, F, a, b) + lc * li * idt(G, F, a, b)
@W
def g_hardcoded_lambdas(G, F, DA, DB, a, b, lc, li): return ref(G, F, DA, DB, a, b, 10.0, 0.5)
@W
def g_hard_li(G, F, DA, DB, a, b, lc, li): return ref(G, F, DA, DB, a, b, lc, 0.5)
@W
def g_abs_adv(G, F, DA, DB, a, b, lc, li):
    return (DB(G(a)) - 1).abs().mean() + (DA(F(b)) - 1).abs().mean() + lc * cyc(G, F, a, b) + lc * li * idt(G, F, a, b)
@W
def g_cyc_order(G, F, DA, DB, a, b, lc, li):
    return ls(DB(G(a))) + ls(DA(F(b))) + lc * (l1(G(F(a)), a) + l1(F(G(b)), b)) + lc * li * idt(G, F, a, b)
@W
def g_id_when_lc0(G, F, DA, DB, a, b, lc, li):   # identity weight lambda_identity when lambda_cycle is 0
    w = lc * li if lc else li
    return ls(DB(G(a))) + ls(DA(F(b))) + lc * cyc(G, F, a, b) + w * idt(G, F, a, b)
@W
def g_adv_mean_combined(G, F, DA, DB, a, b, lc, li):   # both 'real' images judged by one D
    return ls(torch.cat([DB(G(a)), DB(F(b))])) * 2 + lc * cyc(G, F, a, b) + lc * li * idt(G, F, a, b)
@W
def g_cycle_detached_inner(G, F, DA, DB, a, b, lc, li):
    return ls(DB(G(a))) + ls(DA(F(b))) + lc * (l1(F(G(a).detach()), a) + l1(G(F(b).detach()), b)) + lc * li * idt(G, F, a, b)
@W
def g_requires_grad_a(G, F, DA, DB, a, b, lc, li):
    a.requires_grad_(); return ref(G, F, DA, DB, a, b, lc, li)
@W
def g_force_train(G, F, DA, DB, a, b, lc, li):
    G.train(); F.train(); DA.train(); DB.train()
    return ref(G, F, DA, DB, a, b, lc, li)

# ---- correct
@C
def gc_mse(G, F, DA, DB, a, b, lc, li):
    fb, fa = G(a), F(b); s1, s2 = DB(fb), DA(fa)
    loss = Fn.mse_loss(s1, torch.ones_like(s1)) + Fn.mse_loss(s2, torch.ones_like(s2)) + lc * (Fn.l1_loss(F(fb), a) + Fn.l1_loss(G(fa), b))
    if li: loss = loss + lc * li * (Fn.l1_loss(G(b), b) + Fn.l1_loss(F(a), a))
    return loss
@C
def gc_ref_cycle(G, F, DA, DB, a, b, lc, li):
    return (1 - DB(G(a))).square().mean() + (1 - DA(F(b))).square().mean() + lc * (cycle_loss(G, F, a, b) + li * idt(G, F, a, b))
@C
def gc_freeze_restore(G, F, DA, DB, a, b, lc, li):
    flags = [p.requires_grad for D in (DA, DB) for p in D.parameters()]
    DA.requires_grad_(False); DB.requires_grad_(False)
    try:
        return ref(G, F, DA, DB, a, b, lc, li)
    finally:
        for p, f in zip([p for D in (DA, DB) for p in D.parameters()], flags): p.requires_grad_(f)
@C
def gc_batch_trick(G, F, DA, DB, a, b, lc, li):
    g_ab = G(torch.cat([a, b])); f_ba = F(torch.cat([b, a]))
    ga, gb = g_ab[: len(a)], g_ab[len(a):]; fb, fa = f_ba[: len(b)], f_ba[len(b):]
    return ls(DB(ga)) + ls(DA(fb)) + lc * (l1(F(ga), a) + l1(G(fb), b)) + lc * li * (l1(gb, b) + l1(fa, a))
@C
def gc_tensor_one(G, F, DA, DB, a, b, lc, li):
    one = torch.tensor(1.0)     # 0-dim: fine beside CUDA tensors
    return ((DB(G(a)) - one) ** 2).mean() + ((DA(F(b)) - one) ** 2).mean() + lc * cyc(G, F, a, b) + lc * li * idt(G, F, a, b)
@C
def gc_full_like_skip_id(G, F, DA, DB, a, b, lc, li):
    s1, s2 = DB(G(a)), DA(F(b))
    adv = torch.mean((s1 - torch.full_like(s1, 1.0)) ** 2) + torch.mean((s2 - torch.full_like(s2, 1.0)) ** 2)
    total = adv + lc * cyc(G, F, a, b)
    if lc * li != 0: total = total + (lc * li) * idt(G, F, a, b)
    return total
@C
def gc_ones_device(G, F, DA, DB, a, b, lc, li):
    s1, s2 = DB(G(a)), DA(F(b))
    t1 = torch.ones(s1.shape, device=s1.device, dtype=s1.dtype); t2 = s2.new_ones(s2.shape)
    return sum([(s1 - t1).pow(2).mean(), (s2 - t2).pow(2).mean(), lc * cyc(G, F, a, b), lc * li * idt(G, F, a, b)])
@C
def gc_stack_terms(G, F, DA, DB, a, b, lc, li):
    terms = torch.stack([ls(DA(F(b))), ls(DB(G(a))), cyc(G, F, a, b), idt(G, F, a, b)])
    w = torch.tensor([1.0, 1.0, lc, lc * li], dtype=terms.dtype, device=terms.device)
    return (terms * w).sum()

