"""Answers written by an independent reviewer for the cycle check of lecture 11: A lists (name, is_correct, answer)."""
import torch
import torch.nn.functional as Fn
from torch import nn

A = []
def W(f): A.append((f.__name__, False, f)); return f
def C(f): A.append((f.__name__, True, f)); return f
l1 = lambda x, y: (x - y).abs().mean()

@W
def w_order(G, F, a, b): return l1(G(F(a)), a) + l1(F(G(b)), b)
@W
def w_mse(G, F, a, b): return Fn.mse_loss(F(G(a)), a) + Fn.mse_loss(G(F(b)), b)
@W
def w_sum(G, F, a, b): return Fn.l1_loss(F(G(a)), a, reduction="sum") + Fn.l1_loss(G(F(b)), b, reduction="sum")
@W
def w_avg(G, F, a, b): return 0.5 * (l1(F(G(a)), a) + l1(G(F(b)), b))
@W
def w_cat_mean(G, F, a, b): return (torch.cat([F(G(a)), G(F(b))]) - torch.cat([a, b])).abs().mean()
@W
def w_only_a(G, F, a, b): return l1(F(G(a)), a)
@W
def w_targets_swapped(G, F, a, b): return l1(F(G(a)), b) + l1(G(F(b)), a)
@W
def w_identity(G, F, a, b): return l1(G(b), b) + l1(F(a), a)
@W
def w_one_step(G, F, a, b): return l1(G(a), a) + l1(F(b), b)
@W
def w_abs_of_mean(G, F, a, b): return (F(G(a)) - a).mean().abs() + (G(F(b)) - b).mean().abs()
@W
def w_rmse(G, F, a, b): return ((F(G(a)) - a) ** 2).mean().sqrt() + ((G(F(b)) - b) ** 2).mean().sqrt()
@W
def w_per_image_sum(G, F, a, b): return (F(G(a)) - a).abs().sum() / len(a) + (G(F(b)) - b).abs().sum() / len(b)
@W
def w_mean0_sum(G, F, a, b): return (F(G(a)) - a).abs().mean(0).sum() + (G(F(b)) - b).abs().mean(0).sum()
@W
def w_lambda10(G, F, a, b): return 10 * (l1(F(G(a)), a) + l1(G(F(b)), b))
@W
def w_smooth_l1(G, F, a, b): return Fn.smooth_l1_loss(F(G(a)), a) + Fn.smooth_l1_loss(G(F(b)), b)
@W
def w_detach_inner_G(G, F, a, b): return l1(F(G(a).detach()), a) + l1(G(F(b)), b)
@W
def w_detach_inner_both(G, F, a, b): return l1(F(G(a).detach()), a) + l1(G(F(b).detach()), b)
@W
def w_nograd_b(G, F, a, b):
    with torch.no_grad():
        cb = l1(G(F(b)), b)
    return l1(F(G(a)), a) + cb
@W
def w_eval_restore(G, F, a, b):
    G.eval(); F.eval()
    loss = l1(F(G(a)), a) + l1(G(F(b)), b)
    G.train(); F.train()
    return loss
@W
def w_force_train(G, F, a, b):
    G.train(); F.train()          # "make sure they are in training mode"
    return l1(F(G(a)), a) + l1(G(F(b)), b)
@W
def w_clamp_a_inplace(G, F, a, b):
    a.clamp_(-1, 1); b.clamp_(-1, 1)
    return l1(F(G(a)), a) + l1(G(F(b)), b)
@W
def w_clamp_rec_inplace(G, F, a, b):
    ra, rb = F(G(a)), G(F(b))
    ra.clamp_(-1, 1); rb.clamp_(-1, 1)   # tanh output modified in place -> backward breaks
    return l1(ra, a) + l1(rb, b)
@W
def w_float(G, F, a, b): return (l1(F(G(a)), a) + l1(G(F(b)), b)).float()
@W
def w_inputs_float(G, F, a, b):
    a, b = a.float(), b.float()
    return l1(F(G(a)), a) + l1(G(F(b)), b)
@W
def w_zeros_acc_inplace(G, F, a, b):
    loss = torch.zeros(())
    loss += l1(F(G(a)), a); loss += l1(G(F(b)), b)
    return loss
@W
def w_cpu_weights(G, F, a, b):
    w = torch.ones(a.shape)
    return (w * (F(G(a)) - a).abs()).mean() + (w * (G(F(b)) - b).abs()).mean()
@W
def w_cpu_result(G, F, a, b): return (l1(F(G(a)), a) + l1(G(F(b)), b)).cpu()
@W
def w_backward_inside(G, F, a, b):
    loss = l1(F(G(a)), a) + l1(G(F(b)), b); loss.backward(retain_graph=True); return loss
@W
def w_backward_zero_grad_retain(G, F, a, b):
    loss = l1(F(G(a)), a) + l1(G(F(b)), b); loss.backward(retain_graph=True)
    G.zero_grad(); F.zero_grad(); return loss
@W
def w_backward_zero_grad(G, F, a, b):
    loss = l1(F(G(a)), a) + l1(G(F(b)), b); loss.backward()
    G.zero_grad(); F.zero_grad(); return loss
@W
def w_clip_weights(G, F, a, b):
    with torch.no_grad():
        for p in [*G.parameters(), *F.parameters()]: p.clamp_(-0.5, 0.5)
    return l1(F(G(a)), a) + l1(G(F(b)), b)
@W
def w_freeze_F_left(G, F, a, b):
    fa = l1(F(G(a)), a)
    F.requires_grad_(False)   # "G's cycle only trains G"
    return fa + l1(G(F(b)), b)
@W
def w_item(G, F, a, b): return torch.tensor((l1(F(G(a)), a) + l1(G(F(b)), b)).item())
@W
def w_data(G, F, a, b): return l1(F(G(a)).data, a) + l1(G(F(b)), b)
@W
def w_requires_grad_a(G, F, a, b):
    a.requires_grad_(); return l1(F(G(a)), a) + l1(G(F(b)), b)
@W
def w_tuple(G, F, a, b): return l1(F(G(a)), a), l1(G(F(b)), b)
@W
def w_vector(G, F, a, b): return torch.stack([l1(F(G(a)), a), l1(G(F(b)), b)])
@C  # right whenever a and b have the same shape, as in training
def w_2cat_mean(G, F, a, b):  # only equal to the sum of means when a and b have the same size
    return 2 * (torch.cat([F(G(a)), G(F(b))]) - torch.cat([a, b])).abs().mean()
@W
def w_half_precision(G, F, a, b):
    return (l1(F(G(a)), a).half() + l1(G(F(b)), b).half()).to(a.dtype)

# ---- correct
@C
def c_l1_loss(G, F, a, b): return Fn.l1_loss(F(G(a)), a) + Fn.l1_loss(G(F(b)), b)
@C
def c_stack_sum(G, F, a, b): return torch.stack([(b - G(F(b))).abs().mean(), (a - F(G(a))).abs().mean()]).sum()
@C
def c_norm(G, F, a, b): return torch.linalg.vector_norm(F(G(a)) - a, 1) / a.numel() + (G(F(b)) - b).norm(p=1) / b.numel()
@C
def c_new_zeros(G, F, a, b):
    loss = a.new_zeros(())
    loss = loss + l1(F(G(a)), a)
    loss += l1(G(F(b)), b)
    return loss
@C
def c_torch_tensor0(G, F, a, b):
    loss = torch.tensor(0.0)   # 0-dim CPU scalar: allowed beside CUDA tensors
    return loss + l1(F(G(a)), a) + l1(G(F(b)), b)
@C
def c_dim_means(G, F, a, b):
    return (F(G(a)) - a).abs().mean(dim=(1, 2, 3)).mean() + (G(F(b)) - b).abs().flatten(1).mean(1).mean()
@C
def c_L1Loss_module(G, F, a, b):
    crit = nn.L1Loss()
    return sum(crit(rec, x) for rec, x in ((F(G(a)), a), (G(F(b)), b)))
@C
def c_double_then_back(G, F, a, b):
    return (Fn.l1_loss(F(G(a)).double(), a.double()) + Fn.l1_loss(G(F(b)).double(), b.double())).to(a.dtype)
@C
def c_enable_grad(G, F, a, b):
    with torch.enable_grad():
        fb = F(b); ga = G(a)
        rb = G(fb); ra = F(ga)
    return torch.mean(torch.abs(a - ra)) + torch.mean(torch.abs(b - rb))
@C
def c_where_abs(G, F, a, b):
    d1, d2 = F(G(a)) - a, G(F(b)) - b
    return torch.where(d1 > 0, d1, -d1).mean() + torch.maximum(d2, -d2).mean()

