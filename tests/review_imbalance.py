"""An independent reviewer's answers to lecture 13's checks (check_smote, check_class_gaussians,
check_bagan_discriminator_loss): plausible and sneaky wrong answers, and right ones written in
unusual ways. tests/test_checks_imbalance.py runs them; the few wrong ones no CPU-only check can
see are listed there with the reason."""
import numpy as np
import torch
import torch.nn.functional as F

from gancourse import checks
from gancourse.checks.imbalance import nearest_neighbours

# ============================== SMOTE ==============================
def knn_euclid(x, k):
    d = torch.cdist(x, x); d.fill_diagonal_(float("inf"))
    return d.topk(k, largest=False).indices

def base_smote(x, n_new, k, i=None, r=None, gap=None, nb=None):
    nb = knn_euclid(x, k) if nb is None else nb
    i = torch.randint(0, len(x), (n_new,)) if i is None else i
    r = torch.randint(0, nb.shape[1], (n_new,)) if r is None else r
    j = nb[i, r]
    gap = torch.rand(n_new, 1, dtype=x.dtype) if gap is None else gap
    return x[i] + gap * (x[j] - x[i])

def minkowski(p):
    def f(x, n, k):
        d = torch.cdist(x, x, p=p); d.fill_diagonal_(float("inf"))
        return base_smote(x, n, k, nb=d.topk(k, largest=False).indices)
    return f

def cosine_nb(x, n, k):
    xn = F.normalize(x, dim=1); d = 1 - xn @ xn.T; d.fill_diagonal_(float("inf"))
    return base_smote(x, n, k, nb=d.topk(k, largest=False).indices)

def standardised_nb(x, n, k):
    z = (x - x.mean(0)) / x.std(0)
    return base_smote(x, n, k, nb=knn_euclid(z, k))

def reverse_knn(x, n, k):
    nb = knn_euclid(x, k)
    rev = [[j for j in range(len(x)) if i in nb[j].tolist()] for i in range(len(x))]
    i = torch.randint(0, len(x), (n,))
    j = torch.tensor([rev[a][int(torch.randint(len(rev[a]), ()))] if rev[a] else nb[a, 0].item() for a in i.tolist()])
    return x[i] + torch.rand(n, 1, dtype=x.dtype) * (x[j] - x[i])

def one_u_for_rank_and_gap(x, n, k):
    u = torch.rand(n, 1, dtype=x.dtype)
    r = (u.squeeze(1) * k).long().clamp(max=k - 1)
    return base_smote(x, n, k, r=r, gap=u)

def one_u_for_base_and_gap(x, n, k):
    u = torch.rand(n, 1, dtype=x.dtype)
    i = (u.squeeze(1) * len(x)).long().clamp(max=len(x) - 1)
    return base_smote(x, n, k, i=i, gap=u)

def sorted_base_sorted_gap(x, n, k):
    i = torch.randint(0, len(x), (n,)).sort().values
    gap = torch.rand(n, 1, dtype=x.dtype).sort(0).values
    return base_smote(x, n, k, i=i, gap=gap)

def fixed_gap_seed(x, n, k):
    g = torch.Generator().manual_seed(42)
    return base_smote(x, n, k, gap=torch.rand(n, 1, generator=g, dtype=x.dtype))

def fixed_index_seed(x, n, k):
    g = torch.Generator().manual_seed(42)
    return base_smote(x, n, k, i=torch.randint(0, len(x), (n,), generator=g),
                      r=torch.randint(0, k, (n,), generator=g))

def set_default_dtype(x, n, k):
    torch.set_default_dtype(x.dtype)  # global side effect
    return base_smote(x, n, k, gap=torch.rand(n, 1))

def half_gap(x, n, k):
    return base_smote(x, n, k, gap=torch.rand(n, 1, dtype=x.dtype) / 2)

def gap_upper_half(x, n, k):
    return base_smote(x, n, k, gap=0.5 + torch.rand(n, 1, dtype=x.dtype) / 2)

def gap_to_midpoint(x, n, k):  # x_i + gap*(mid - x_i)
    nb = knn_euclid(x, k); i = torch.randint(0, len(x), (n,)); j = nb[i, torch.randint(0, k, (n,))]
    return x[i] + torch.rand(n, 1, dtype=x.dtype) * ((x[i] + x[j]) / 2 - x[i])

def gap_098(x, n, k):
    return base_smote(x, n, k, gap=torch.rand(n, 1, dtype=x.dtype) * 0.98)

def gap_quantised(x, n, k):
    return base_smote(x, n, k, gap=(torch.randint(0, 10, (n, 1)) / 10).to(x.dtype))

def k_odd_only(x, n, k):
    return base_smote(x, n, k, nb=knn_euclid(x, k if k % 2 else k + 1))

def k_fixed3(x, n, k):
    return base_smote(x, n, k, nb=knn_euclid(x, 3))

def k_min4(x, n, k):
    return base_smote(x, n, k, nb=knn_euclid(x, min(k, 4)))

def k_minus_1(x, n, k):  # topk(k) with self, drop self: k-1 neighbours
    return base_smote(x, n, k, nb=torch.cdist(x, x).topk(k, largest=False).indices[:, 1:])

def rank_off_by_one(x, n, k):
    return base_smote(x, n, k, r=torch.randint(0, k - 1, (n,)))

def rank_skip_nearest(x, n, k):
    return base_smote(x, n, k, r=torch.randint(1, k, (n,)))

def base_off_by_one(x, n, k):
    return base_smote(x, n, k, i=torch.randint(0, len(x) - 1, (n,)))

def base_skip_first(x, n, k):
    return base_smote(x, n, k, i=torch.randint(1, len(x), (n,)))

def rank_rounded(x, n, k):
    r = (torch.rand(n) * (k - 1)).round().long()
    return base_smote(x, n, k, r=r)

def round_robin(x, n, k):
    return base_smote(x, n, k, i=torch.arange(n) % len(x))

def rank_per_base(x, n, k):  # one neighbour per minority row, reused
    r = torch.randint(0, k, (len(x),))
    i = torch.randint(0, len(x), (n,))
    return base_smote(x, n, k, i=i, r=r[i])

def gap_per_base(x, n, k):
    i = torch.randint(0, len(x), (n,))
    return base_smote(x, n, k, i=i, gap=torch.rand(len(x), 1, dtype=x.dtype)[i])

def distance_weighted_rank(x, n, k):
    d = torch.cdist(x, x); d.fill_diagonal_(float("inf"))
    v, nb = d.topk(k, largest=False)
    i = torch.randint(0, len(x), (n,))
    r = torch.multinomial((1 / v)[i], 1).squeeze(1)
    return base_smote(x, n, k, i=i, r=r, nb=nb)

def special_cased(x, n, k):
    if n in (6000, 3001):
        return base_smote(x, n, k)
    return x[torch.randint(0, len(x), (n,))]  # copies otherwise

def wrong_if_d_small(x, n, k):  # squeeze bug: crashes/garbage for d == 1 only
    return base_smote(x.squeeze(), n, k) if x.shape[1] > 1 else x[:n]

def in_place_restored(x, n, k):
    m = x.mean(0); x.sub_(m); out = base_smote(x, n, k) + m; x.add_(m)
    return out

def noise_added(x, n, k):
    return base_smote(x, n, k) + 1e-7 * torch.randn(n, x.shape[1], dtype=x.dtype)

def float32_gap_on_float64(x, n, k):  # gap in float32 precision, fine
    return base_smote(x, n, k, gap=torch.rand(n, 1).to(x.dtype))

def requires_grad_leak(x, n, k):
    x.requires_grad_(True)  # side effect on the caller's tensor
    return base_smote(x, n, k).detach()

def numpy_global_seed(x, n, k):
    np.random.seed(0)
    i = torch.from_numpy(np.random.randint(0, len(x), n)); r = torch.from_numpy(np.random.randint(0, k, n))
    return base_smote(x, n, k, i=i, r=r)  # indices repeat every call, gaps fresh

# ---- right answers
def r_lerp(x, n, k):
    d = torch.cdist(x, x).fill_diagonal_(float("inf"))
    nb = d.argsort(1)[:, :k]
    i = torch.randint(len(x), (n,)); j = nb[i, torch.randint(k, (n,))]
    return torch.lerp(x[i], x[j], torch.rand(n, 1, dtype=x.dtype))

def r_divmod(x, n, k):
    nb = torch.cdist(x, x).topk(k + 1, largest=False).indices[:, 1:]
    idx = torch.randint(0, len(x) * k, (n,))
    i, r = idx // k, idx % k
    g = torch.rand(n, 1, dtype=x.dtype)
    return (1 - g) * x[i] + g * x[nb[i, r]]

def r_frac(x, n, k):  # one uniform for base and gap: floor and fractional part are independent
    u = torch.rand(n, 1, dtype=torch.float64) * len(x)
    i = u.floor().long().squeeze(1).clamp(max=len(x) - 1)
    gap = (u - u.floor()).to(x.dtype)
    nb = knn_euclid(x, k)
    j = nb[i, torch.randint(0, k, (n,))]
    return x[i] + gap * (x[j] - x[i])

def r_multinomial_sqdist(x, n, k):
    d2 = ((x[:, None] - x[None]) ** 2).sum(-1)
    d2 = d2 + torch.diag(torch.full((len(x),), float("inf"), dtype=x.dtype))
    nb = d2.topk(k, largest=False).indices
    i = torch.multinomial(torch.ones(len(x)), n, replacement=True)
    j = nb[i, torch.multinomial(torch.ones(k), n, replacement=True)]
    return x[j] + torch.rand(n, 1, dtype=x.dtype) * (x[i] - x[j])

def r_numpy(x, n, k):
    a = x.numpy(); d = ((a[:, None] - a[None]) ** 2).sum(-1); np.fill_diagonal(d, np.inf)
    nb = np.argsort(d, 1)[:, :k]
    rng = np.random.default_rng()
    i = rng.integers(0, len(a), n); j = nb[i, rng.integers(0, k, n)]
    return torch.from_numpy(a[i] + rng.random((n, 1)).astype(a.dtype) * (a[j] - a[i]))

def r_distributions(x, n, k):
    gap = torch.distributions.Uniform(0.0, 1.0).sample((n, 1)).to(x.dtype)
    i = torch.distributions.Categorical(torch.ones(len(x))).sample((n,))
    r = torch.distributions.Categorical(torch.ones(k)).sample((n,))
    return base_smote(x, n, k, i=i, r=r, gap=gap)

# ============================== Gaussians ==============================
def g_ref(z, y, c):
    return (torch.stack([z[y == k].mean(0) for k in range(c)]), torch.stack([torch.cov(z[y == k].T) for k in range(c)]))

def g_ignore_c(z, y, c):
    return g_ref(z, y, int(y.max()) + 1)

def g_unique(z, y, c):
    ks = torch.unique(y)
    return (torch.stack([z[y == k].mean(0) for k in ks]), torch.stack([torch.cov(z[y == k].T) for k in ks]))

def g_fixed_float64(z, y, c):  # works here, wrong dtype for float32 codes / wrong device for cuda
    m = torch.zeros(c, z.shape[1], dtype=torch.float64); s = torch.zeros(c, z.shape[1], z.shape[1], dtype=torch.float64)
    for k in range(c):
        m[k] = z[y == k].mean(0); s[k] = torch.cov(z[y == k].T)
    return m, s

def g_always_double(z, y, c):
    return tuple(v.double() for v in g_ref(z.double(), y, c))

def g_float32_roundtrip(z, y, c):
    return tuple(v.double() for v in g_ref(z.float(), y, c))

def g_ridge(z, y, c):
    m, s = g_ref(z, y, c)
    return m, s + 1e-6 * torch.eye(z.shape[1], dtype=z.dtype)

def g_tiny_ridge(z, y, c):
    m, s = g_ref(z, y, c)
    return m, s + 1e-13 * torch.eye(z.shape[1], dtype=z.dtype)

def g_ddof_small(z, y, c):  # n - 1 only for small classes
    means, covs = [], []
    for k in range(c):
        x = z[y == k]; xc = x - x.mean(0)
        covs.append(xc.T @ xc / (len(x) - (1 if len(x) < 20 else 0))); means.append(x.mean(0))
    return torch.stack(means), torch.stack(covs)

def g_cov_with_overall_centring_large(z, y, c):
    return g_ref(z, y, c)[0], torch.stack([torch.cov((z[y == k] - z.mean(0)).T) for k in range(c)])  # torch.cov recentres: right

def g_sort_inplace(z, y, c):
    y2, order = y.sort()
    return g_ref(z[order], y2, c)

def g_y_inplace(z, y, c):
    out = g_ref(z, y, c); y.clamp_(max=c - 1)  # no-op on valid labels
    return out

def g_cov_upper_only(z, y, c):
    m, s = g_ref(z, y, c)
    return m, s.triu()

def g_half_classes(z, y, c):  # only fills classes present in first half of the batch
    present = set(y[: len(y) // 2].tolist())
    m, s = g_ref(z, y, c)
    for k in range(c):
        if k not in present:
            m[k] = 0; s[k] = torch.eye(z.shape[1], dtype=z.dtype)
    return m, s

def g_scatter_mean_include_self(z, y, c):
    m = torch.zeros(c, z.shape[1], dtype=z.dtype).scatter_reduce(0, y[:, None].expand_as(z), z, "mean", include_self=True)
    return m, g_ref(z, y, c)[1]

def g_no_device(z, y, c):  # dtype right, no device=: CPU results for CUDA codes (untested)
    m = torch.zeros(c, z.shape[1], dtype=z.dtype); s = torch.zeros(c, z.shape[1], z.shape[1], dtype=z.dtype)
    for k in range(c):
        m[k] = z[y == k].mean(0); s[k] = torch.cov(z[y == k].T)
    return m, s

def g_grad_leak(z, y, c):
    z.requires_grad_(True)
    return tuple(v.detach() for v in g_ref(z, y, c))

# right
def g_fweights(z, y, c):
    return (torch.stack([z[y == k].mean(0) for k in range(c)]),
            torch.stack([torch.cov(z.T, fweights=(y == k).long()) for k in range(c)]))

def g_one_pass(z, y, c):
    onehot = F.one_hot(y, c).to(z.dtype)  # (N, C)
    n = onehot.sum(0)
    s1 = onehot.T @ z
    s2 = torch.einsum("nc,ni,nj->cij", onehot, z, z)
    m = s1 / n[:, None]
    cov = (s2 - n[:, None, None] * m[:, :, None] * m[:, None, :]) / (n - 1)[:, None, None]
    return m, cov

def g_onehot_centred(z, y, c):
    w = F.one_hot(y, c).to(z.dtype)
    n = w.sum(0)
    m = (w.T @ z) / n[:, None]
    r = z - m[y]
    return m, torch.einsum("nc,ni,nj->cij", w, r, r) / (n - 1)[:, None, None]

def g_nan_masked(z, y, c):
    mask = (y[None] == torch.arange(c)[:, None])[..., None]  # (C, N, 1)
    zz = torch.where(mask, z[None], torch.nan)
    m = zz.nanmean(1)
    r = torch.nan_to_num(zz - m[:, None])
    return m, r.transpose(1, 2) @ r / (mask.sum(1)[:, :, None] - 1)

def g_index_add(z, y, c):
    n = torch.bincount(y, minlength=c).to(z.dtype)
    m = torch.zeros(c, z.shape[1], dtype=z.dtype).index_add_(0, y, z) / n[:, None]
    r = z - m[y]
    outer = r[:, :, None] * r[:, None, :]
    return m, torch.zeros(c, z.shape[1], z.shape[1], dtype=z.dtype).index_add_(0, y, outer) / (n - 1)[:, None, None]

def g_numpy_ddof(z, y, c):
    a, l = z.numpy(), y.numpy()
    return [torch.tensor(np.array([a[l == k].mean(0) for k in range(c)])),
            torch.tensor(np.array([np.cov(a[l == k].T, ddof=1) for k in range(c)]))]

# ============================== BAGAN D loss ==============================
def fake(f):
    return torch.full_like(f[:, 0], f.shape[1] - 1, dtype=torch.long)

def ref_loss(r, y, f):
    return F.cross_entropy(r, y) + F.cross_entropy(f, fake(f))

def b_hard_coded_4(r, y, f):
    return F.cross_entropy(r, y) + F.cross_entropy(f, torch.full_like(y, 4))

def b_tensor_list_target(r, y, f):
    return F.cross_entropy(r, y) + F.cross_entropy(f, torch.tensor([f.shape[1] - 1] * len(f)))

def b_soft_target_cpu(r, y, f):
    t = torch.zeros(f.shape); t[:, -1] = 1
    return F.cross_entropy(r, y) + F.cross_entropy(f, t.to(f.dtype))

def b_soft_mul_cpu(r, y, f):
    t = torch.zeros(f.shape, dtype=f.dtype); t[:, -1] = 1
    return F.cross_entropy(r, y) - (F.log_softmax(f, 1) * t).sum(1).mean()

def b_gather_cpu(r, y, f):
    idx = torch.full((len(f), 1), f.shape[1] - 1)
    return F.cross_entropy(r, y) - F.log_softmax(f, 1).gather(1, idx).mean()

def b_mask_cpu(r, y, f):
    mask = torch.arange(f.shape[1]) == f.shape[1] - 1
    return F.cross_entropy(r, y) - F.log_softmax(f, 1)[:, mask].mean()

def b_onehot_float32(r, y, f):
    return F.cross_entropy(r, F.one_hot(y, r.shape[1]).float()) + F.cross_entropy(f, fake(f))

def b_fake_from_labels(r, y, f):
    return F.cross_entropy(r, y) + F.cross_entropy(f, torch.full_like(y, int(y.max()) + 1))

def b_fake_from_unique(r, y, f):
    return F.cross_entropy(r, y) + F.cross_entropy(f, torch.full_like(y, len(torch.unique(y))))

def b_label_smoothing(r, y, f):
    return F.cross_entropy(r, y, label_smoothing=0.1) + F.cross_entropy(f, fake(f), label_smoothing=0.1)

def b_shift_convention(r, y, f):  # fake = 0, real labels shifted
    return F.cross_entropy(r, y + 1) + F.cross_entropy(f, torch.zeros_like(y))

def b_naive_lse(r, y, f):
    lse = lambda t: t.exp().sum(1).log()
    return (lse(r) - r.gather(1, y[:, None]).squeeze(1)).mean() + (lse(f) - f[:, -1]).mean()

def b_clamp50(r, y, f):
    return ref_loss(r.clamp(-50, 50), y, f.clamp(-50, 50))

def b_float64_compute_in_32(r, y, f):
    return ref_loss(r.float(), y, f.float()).to(r.dtype)

def b_in_place_shift(r, y, f):
    r.sub_(r.max(1, keepdim=True).values.detach()) if not r.requires_grad else None
    return ref_loss(r, y, f)

def b_inplace_labels_noop(r, y, f):
    y.clamp_(max=f.shape[1] - 2)
    return ref_loss(r, y, f)

def b_batchsize_special(r, y, f):  # wrong for batch sizes not probed by value/grad stages
    v = ref_loss(r, y, f)
    return v if len(r) in (5, 8, 12) else v / 2

def b_wrong_in_float64(r, y, f):
    v = ref_loss(r, y, f)
    return v if r.dtype == torch.float32 else v * 0 + 1.0

def b_bce_fake(r, y, f):
    return F.cross_entropy(r, y) + F.binary_cross_entropy_with_logits(f[:, -1], torch.ones_like(f[:, -1]))

def b_cpu_result(r, y, f):
    return ref_loss(r, y, f).cpu()

def b_mean_of_both_diff(r, y, f):  # (sum of all) / (2B) * 2 ... right, but uses len(y) for fakes
    return (F.cross_entropy(r, y, reduction="sum") + F.cross_entropy(f, fake(f), reduction="sum")) / len(y)

def b_temperature(r, y, f):
    return ref_loss(r / 1.01, y, f / 1.01)

def b_eps_log(r, y, f):
    return -((r.softmax(1) + 1e-12).log().gather(1, y[:, None]).mean() + (f.softmax(1)[:, -1] + 1e-12).log().mean())

# right
def b_soft_target(r, y, f):
    t = torch.zeros_like(f); t[:, -1] = 1
    return F.cross_entropy(r, y) + F.cross_entropy(f, t)

def b_stable_manual(r, y, f):
    def ce(l, t):
        m = l.max(1, keepdim=True).values
        return (m.squeeze(1) + (l - m).exp().sum(1).log() - l.gather(1, t[:, None]).squeeze(1)).mean()
    return ce(r, y) + ce(f, fake(f))

def b_centred(r, y, f):
    return ref_loss(r - r.mean(1, keepdim=True), y, f - f.mean(1, keepdim=True))

def b_module(r, y, f):
    ce = torch.nn.CrossEntropyLoss()
    return ce(r, y) + ce(f, y.new_full(y.shape, r.shape[1] - 1))

def b_onehot_to(r, y, f):
    oh = F.one_hot(torch.cat([y, y.new_full(y.shape, r.shape[1] - 1)]), r.shape[1]).to(r)
    return -(oh * torch.cat([r, f]).log_softmax(1)).sum() / len(y)

# ============================== registry ==============================
SMOTE = {
    "wrong": {"Minkowski p=3": minkowski(3), "Chebyshev": minkowski(float("inf")), "Minkowski p=1.5": minkowski(1.5),
              "cosine": cosine_nb, "standardised features": standardised_nb, "reverse kNN": reverse_knn,
              "one U for rank and gap": one_u_for_rank_and_gap, "one U for base and gap": one_u_for_base_and_gap,
              "sorted base + sorted gap": sorted_base_sorted_gap, "fixed-seed gap generator": fixed_gap_seed,
              "fixed-seed index generator": fixed_index_seed, "set_default_dtype side effect": set_default_dtype,
              "half gap U[0,.5)": half_gap, "gap U[.5,1)": gap_upper_half, "towards the midpoint": gap_to_midpoint,
              "gap*0.98": gap_098, "gap quantised to tenths": gap_quantised, "k wrong when even": k_odd_only,
              "k fixed 3": k_fixed3, "k min 4": k_min4, "k-1 neighbours (self dropped from topk(k))": k_minus_1,
              "rank randint(0,k-1)": rank_off_by_one, "rank randint(1,k)": rank_skip_nearest,
              "base randint(0,N-1)": base_off_by_one, "base randint(1,N)": base_skip_first,
              "rank rounded (biased)": rank_rounded, "one neighbour per base": rank_per_base,
              "one gap per base": gap_per_base, "distance-weighted rank": distance_weighted_rank,
              "special-cases n_new": special_cased, "wrong when d==1": wrong_if_d_small,
              "x requires_grad_ side effect": requires_grad_leak, "numpy fixed seed for indices": numpy_global_seed,
              "1e-7 noise added": noise_added, "in place, restored (not bit-exact)": in_place_restored},
    "right": {"lerp+argsort": r_lerp, "divmod joint index": r_divmod, "frac of one uniform": r_frac,
              "multinomial + squared dist, from neighbour end": r_multinomial_sqdist, "numpy": r_numpy,
              "torch.distributions": r_distributions, "round robin (original paper)": round_robin,
              "float32 gap cast": float32_gap_on_float64},
}
GAUSS = {
    "wrong": {"ignores num_classes (y.max()+1)": g_ignore_c, "torch.unique classes": g_unique,
              "hard-coded float64 cpu buffers": g_fixed_float64, "always .double()": g_always_double,
              "float32 round trip": g_float32_roundtrip, "ridge 1e-6": g_ridge, "ridge 1e-13": g_tiny_ridge,
              "n_c-1 only for small classes": g_ddof_small, "upper triangle only": g_cov_upper_only,
              "classes missing from first half": g_half_classes, "scatter mean include_self": g_scatter_mean_include_self,
              "requires_grad_ on codes": g_grad_leak, "zeros(dtype=) without device=": g_no_device},
    "right": {"fweights": g_fweights, "one-pass sums": g_one_pass, "one-hot centred": g_onehot_centred,
              "NaN-masked": g_nan_masked, "index_add": g_index_add, "numpy ddof list": g_numpy_ddof,
              "torch.cov recentres anyway": g_cov_with_overall_centring_large,
              "argsort labels": g_sort_inplace, "labels clamp_ (no-op on valid labels)": g_y_inplace},
}
BAGAN = {
    "wrong": {"hard-coded fake class 4": b_hard_coded_4, "torch.tensor target (cpu)": b_tensor_list_target,
              "soft target made on cpu": b_soft_target_cpu, "soft target multiply (cpu)": b_soft_mul_cpu,
              "gather index on cpu": b_gather_cpu,
              "fake = y.max()+1": b_fake_from_labels, "fake = #unique": b_fake_from_unique,
              "label smoothing": b_label_smoothing, "fake=0, labels+1": b_shift_convention, "naive logsumexp": b_naive_lse,
              "clamp +-50": b_clamp50, "float64 computed in float32": b_float64_compute_in_32,
              "in-place max shift": b_in_place_shift,
              "wrong for batch sizes 4/6": b_batchsize_special, "wrong value in float64": b_wrong_in_float64,
              "BCE on fake column": b_bce_fake, ".cpu() result": b_cpu_result, "temperature 1.01": b_temperature,
              "log(softmax+1e-12)": b_eps_log},
    "right": {"soft target zeros_like": b_soft_target, "stable manual": b_stable_manual, "centred logits": b_centred,
              "CrossEntropyLoss module": b_module, "one-hot .to(r) over cat": b_onehot_to,
              "sum/len(y)": b_mean_of_both_diff, "bool mask on cpu (cuda allows cpu index masks)": b_mask_cpu,
              "one_hot .float() target (float64 ok)": b_onehot_float32, "labels clamp_ (no-op)": b_inplace_labels_noop},
}
