"""Lecture 13's self-checks: SMOTE's interpolation, BAGAN's class Gaussians and its D loss."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gancourse import checks
from gancourse.checks.imbalance import _segments, nearest_neighbours
from gancourse.models.bagan import bagan_discriminator_loss, class_gaussians
from tests.check_answers import Wrong, assert_passes, assert_rejects, not_done


# --- SMOTE -----------------------------------------------------------------------------------------
def smote(x, n_new, k, *, gap="uniform", pick="uniform", knn="euclidean", base="uniform", per_feature=False):
    """A student's SMOTE; each keyword away from its default is one typical mistake."""
    if knn == "euclidean":
        neighbours = nearest_neighbours(x, k)
    elif knn == "with itself":
        neighbours = torch.cdist(x, x).topk(k, largest=False).indices  # the point itself comes first
    elif knn == "manhattan":
        d = torch.cdist(x, x, p=1)
        d.fill_diagonal_(float("inf"))
        neighbours = d.topk(k, largest=False).indices
    elif knn == "farthest":
        neighbours = torch.cdist(x, x).topk(k).indices
    elif knn == "one too many":
        neighbours = nearest_neighbours(x, k + 1)
    else:  # any minority sample
        neighbours = torch.stack([(i + 1 + torch.randperm(len(x) - 1)[:k]) % len(x) for i in range(len(x))])
    i = torch.randint(0, len(x), (n_new,)) if base == "uniform" else torch.zeros(n_new, dtype=torch.long)
    r = {"uniform": lambda: torch.randint(0, neighbours.shape[1], (n_new,)),
         "nearest": lambda: torch.zeros(n_new, dtype=torch.long)}[pick]()
    j = neighbours[i, r]
    shape = (n_new, x.shape[1]) if per_feature else (n_new, 1)
    lam = {"uniform": lambda: torch.rand(shape, dtype=x.dtype), "half": lambda: torch.full(shape, 0.5, dtype=x.dtype),
           "normal": lambda: torch.randn(shape, dtype=x.dtype), "one": lambda: torch.rand(1, dtype=x.dtype).expand(shape),
           "squared": lambda: torch.rand(shape, dtype=x.dtype) ** 2}[gap]()
    return x[i] + lam * (x[j] - x[i])


def smote_loop(x, n_new, k):
    out = []
    for _ in range(n_new):
        i = int(torch.randint(len(x), ()))
        distances = ((x - x[i]) ** 2).sum(1)
        distances[i] = float("inf")
        j = distances.argsort()[int(torch.randint(k, ()))]
        out.append(x[j] + (1 - torch.rand(()).to(x.dtype)) * (x[i] - x[j]))  # from the other end
    return torch.stack(out)


def smote_sklearn(x, n_new, k):
    from sklearn.neighbors import NearestNeighbors
    a = x.numpy()
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(a).kneighbors(a)
    rng = np.random.default_rng(int(torch.randint(2 ** 31, ())))
    i = rng.integers(0, len(a), n_new)
    j = idx[i, rng.integers(1, k + 1, n_new)]
    return torch.from_numpy(a[i] + rng.random((n_new, 1)).astype(a.dtype) * (a[j] - a[i]))


def smote_imblearn(x, n_new, k):
    """imbalanced-learn's SMOTE: a far-away majority class sized so that n_new minority rows are made."""
    from imblearn.over_sampling import SMOTE
    a = x.numpy()
    majority = np.full((len(a) + n_new, a.shape[1]), 1e6, dtype=a.dtype)
    y = np.r_[np.zeros(len(a)), np.ones(len(majority))]
    out, _ = SMOTE(k_neighbors=k, random_state=int(torch.randint(2 ** 31, ()))).fit_resample(np.r_[a, majority], y)
    return torch.from_numpy(out[len(y):].astype(a.dtype))


SMOTE_RIGHT = {"vectorised": smote, "a loop, from the neighbour's end": smote_loop,
               "scikit-learn's NearestNeighbors": smote_sklearn, "imbalanced-learn's SMOTE": smote_imblearn}
SMOTE_WRONG = {
    "one gap per feature": Wrong(lambda x, n, k: smote(x, n, k, per_feature=True), "lie on no line", "value"),
    "gap from a normal": Wrong(lambda x, n, k: smote(x, n, k, gap="normal"), "beyond them", "distribution"),
    "midpoints": Wrong(lambda x, n, k: smote(x, n, k, gap="half"), "all at one point", "distribution"),
    "one gap for all": Wrong(lambda x, n, k: smote(x, n, k, gap="one"), "not uniform", "distribution"),
    "gap squared": Wrong(lambda x, n, k: smote(x, n, k, gap="squared"), "not uniform", "distribution"),
    "itself among the neighbours": Wrong(lambda x, n, k: smote(x, n, k, knn="with itself"), "own nearest neighbour", "value"),
    "Manhattan distance": Wrong(lambda x, n, k: smote(x, n, k, knn="manhattan"), "not among each other's", "value"),
    "the farthest": Wrong(lambda x, n, k: smote(x, n, k, knn="farthest"), "not among each other's", "value"),
    "k + 1 neighbours": Wrong(lambda x, n, k: smote(x, n, k, knn="one too many"), "not among each other's", "value"),
    "any minority sample": Wrong(lambda x, n, k: smote(x, n, k, knn="random"), "not among each other's", "value"),
    "always the nearest": Wrong(lambda x, n, k: smote(x, n, k, pick="nearest"), "always takes the nearest", "distribution"),
    "always the first sample": Wrong(lambda x, n, k: smote(x, n, k, base="first"), "not drawn as SMOTE", "distribution"),
    "originals included": Wrong(lambda x, n, k: torch.cat([x, smote(x, n, k)]), "only the n_new new rows", "shapes"),
    "n_new ignored": Wrong(lambda x, n, k: smote(x, len(x), k), "expected shape", "shapes"),
    "float32 always": Wrong(lambda x, n, k: smote(x, n, k).float(), "x's dtype", "device"),
    "fixed seed": Wrong(lambda x, n, k: (torch.manual_seed(0), smote(x, n, k))[1], "two calls returned the same", "distribution"),
    "x edited in place": Wrong(lambda x, n, k: smote(x.mul_(1.0000001), n, k), "changed in place", "state"),
    "a NumPy array": Wrong(lambda x, n, k: smote(x, n, k).numpy(), "expected shape", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}



def test_smote_check_passes_correct_answers_on_many_draws(capsys):
    """The statistical tests' thresholds: a right answer passes whatever random numbers it gets
    (each answer below skips a different number of draws first)."""
    for skip in range(1, 16):
        assert_passes(checks.check_smote, lambda x, n, k, skip=skip: (torch.rand(skip), smote(x, n, k))[1], capsys)


def test_the_package_smote_makes_minority_images():
    from gancourse.imbalance import smote_only
    images = torch.rand(30, 1, 4, 4)
    labels = torch.tensor([0] * 20 + [1] * 10)
    new = smote_only(images, labels, minority=1)
    assert new.shape == (10, 1, 4, 4)
    i, j, gap, off = _segments(new.flatten(1).double(), images[20:].flatten(1).double())
    assert (off < 1e-5).all() and (gap >= -1e-6).all() and (gap <= 1 + 1e-6).all()


# --- BAGAN's class Gaussians -------------------------------------------------------------------------------
def gaussians(codes, y, c, *, ddof=1, centre=True, pooled=False, diagonal=False, own_mean=True, order=None):
    """A student's per-class mean and covariance; each keyword away from its default is one mistake."""
    classes = range(c) if order is None else order
    means, covs = [], []
    for k in classes:
        x = codes if pooled else codes[y == k]
        m = codes[y == k].mean(0) if own_mean else codes.mean(0)
        centred = x - x.mean(0) if centre else x
        cov = centred.T @ centred / (len(x) - ddof)
        means.append(m)
        covs.append(torch.diag(cov.diagonal()) if diagonal else cov)
    return torch.stack(means), torch.stack(covs)


def gaussians_numpy(codes, y, c):
    a, labels = codes.numpy(), y.numpy()
    return (torch.from_numpy(np.stack([a[labels == k].mean(0) for k in range(c)])),
            torch.from_numpy(np.stack([np.cov(a[labels == k], rowvar=False) for k in range(c)])))


def gaussians_sorted(codes, y, c):
    order = y.argsort(stable=True)
    groups = torch.split(codes[order], torch.bincount(y, minlength=c).tolist())
    return torch.stack([g.mean(0) for g in groups]), torch.stack([torch.cov(g.T) for g in groups])


GAUSS_RIGHT = {"the package's": class_gaussians, "a loop": gaussians, "numpy.cov": gaussians_numpy,
               "sorted and split": gaussians_sorted,
               "einsum": lambda z, y, c: (torch.stack([z[y == k].mean(0) for k in range(c)]),
                                          torch.stack([torch.einsum("ni,nj->ij", z[y == k] - z[y == k].mean(0),
                                                                    z[y == k] - z[y == k].mean(0)) / ((y == k).sum() - 1)
                                                       for k in range(c)]))}
GAUSS_WRONG = {
    "divided by n": Wrong(lambda z, y, c: gaussians(z, y, c, ddof=0), "not by n_c", "value"),
    "not centred": Wrong(lambda z, y, c: gaussians(z, y, c, centre=False), "covariance is centred", "value"),
    "pooled": Wrong(lambda z, y, c: gaussians(z, y, c, pooled=True), "that class's codes alone", "value"),
    "variances only": Wrong(lambda z, y, c: gaussians(z, y, c, diagonal=True), "not only its diagonal", "value"),
    "the overall mean": Wrong(lambda z, y, c: gaussians(z, y, c, own_mean=False), "mean comes from that class", "value"),
    "classes in order of appearance": Wrong(lambda z, y, c: gaussians(z, y, c, order=list(dict.fromkeys(y.tolist()))),
                                            "the mean of class", "independent"),
    "labels off by one": Wrong(lambda z, y, c: gaussians(z, (y + 1) % c, c), "the mean of class", "independent"),
    "means over features": Wrong(lambda z, y, c: (torch.stack([z[y == k].mean(1).mean() for k in range(c)]),
                                                  gaussians(z, y, c)[1]), "expected shape", "shapes"),
    "n x n covariance": Wrong(lambda z, y, c: (gaussians(z, y, c)[0], [torch.cov(z[y == k]) for k in range(c)]),
                              "expected shape", "shapes"),
    "float32": Wrong(lambda z, y, c: tuple(v.float() for v in gaussians(z, y, c)), "float64 codes", "device"),
    "centred in place": Wrong(lambda z, y, c: (gaussians(z, y, c), z.sub_(z.mean(0)))[0], "changed in place", "state"),
    "only the means": Wrong(lambda z, y, c: gaussians(z, y, c)[0], "return two tensors", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}



# --- BAGAN's discriminator loss ----------------------------------------------------------------------
def fake_class(logits):
    return torch.full((len(logits),), logits.shape[1] - 1, device=logits.device)


BAGAN_D_RIGHT = {
    "the package's": bagan_discriminator_loss,
    "log_softmax and gather": lambda r, y, f: -(F.log_softmax(r, 1).gather(1, y[:, None]).mean()
                                               + F.log_softmax(f, 1)[:, -1].mean()),
    "nll_loss": lambda r, y, f: F.nll_loss(F.log_softmax(r, 1), y) + F.nll_loss(F.log_softmax(f, 1), fake_class(f)),
    "one cross-entropy over both, doubled": lambda r, y, f: 2 * F.cross_entropy(torch.cat([r, f]),
                                                                                torch.cat([y, fake_class(f)])),
    "logsumexp": lambda r, y, f: (r.logsumexp(1) - r.gather(1, y[:, None]).squeeze(1)).mean()
                                 + (f.logsumexp(1) - f[:, -1]).mean(),
}
BAGAN_D_WRONG = {
    "fake class 0": Wrong(lambda r, y, f: F.cross_entropy(r, y) + F.cross_entropy(f, torch.zeros_like(y)),
                          "not 0", "value"),
    "fakes as their conditioning class": Wrong(lambda r, y, f: F.cross_entropy(r, y) + F.cross_entropy(f, y),
                                               "whatever class G was asked", "value"),
    "no fake term": Wrong(lambda r, y, f: F.cross_entropy(r, y), "fakes' term is missing", "value"),
    "no real term": Wrong(lambda r, y, f: F.cross_entropy(f, fake_class(f)), "real images' term is missing", "value"),
    "halved": Wrong(lambda r, y, f: bagan_discriminator_loss(r, y, f) / 2, "their sum", "value"),
    "sign": Wrong(lambda r, y, f: -bagan_discriminator_loss(r, y, f), "sign flipped", "value"),
    "softmax first": Wrong(lambda r, y, f: F.cross_entropy(r.softmax(1), y) + F.cross_entropy(f.softmax(1), fake_class(f)),
                           "no softmax", "value"),
    "real scored over C logits": Wrong(lambda r, y, f: F.cross_entropy(r[:, :-1], y) + F.cross_entropy(f, fake_class(f)),
                                       "the fake one too", "value"),
    "summed over the batch": Wrong(lambda r, y, f: F.cross_entropy(r, y, reduction="sum")
                                   + F.cross_entropy(f, fake_class(f), reduction="sum"), "sum over the batch", "value"),
    "log of softmax": Wrong(lambda r, y, f: -(r.softmax(1).gather(1, y[:, None]).log().mean() + f.softmax(1)[:, -1].log().mean()),
                            "logits", "extreme"),
    "fake term detached": Wrong(lambda r, y, f: F.cross_entropy(r, y) + F.cross_entropy(f.detach(), fake_class(f)),
                                "no gradient reaches fake_logits", "extreme"),
    "fake class on the cpu": Wrong(lambda r, y, f: F.cross_entropy(r, y) + F.cross_entropy(f, torch.full((len(f),), f.shape[1] - 1)),
                                   "device", "device"),
    "per sample": Wrong(lambda r, y, f: F.cross_entropy(r, y, reduction="none") + F.cross_entropy(f, fake_class(f), reduction="none"),
                        "expected a scalar", "shapes"),
    "a float": Wrong(lambda r, y, f: bagan_discriminator_loss(r, y, f).item(), "expected a tensor", "crash"),
    "not done": Wrong(not_done, "not implemented yet", "crash"),
}



# --- every catalogue: each wrong answer fails with its named hint, each right one passes ---------------
CATALOGUES = [(checks.check_smote, SMOTE_RIGHT, SMOTE_WRONG), (checks.check_class_gaussians, GAUSS_RIGHT, GAUSS_WRONG),
              (checks.check_bagan_discriminator_loss, BAGAN_D_RIGHT, BAGAN_D_WRONG)]


@pytest.mark.parametrize("check, case", [(c, k) for c, right, _ in CATALOGUES for k in right],
                         ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_right_answers_pass(check, case, capsys):
    right = next(r for c, r, _ in CATALOGUES if c is check)
    assert_passes(check, right[case], capsys)


@pytest.mark.parametrize("check, case", [(c, k) for c, _, wrong in CATALOGUES for k in wrong],
                         ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_wrong_answers_fail_with_their_hint(check, case, capsys):
    wrong = next(w for c, _, w in CATALOGUES if c is check)
    assert_rejects(check, wrong[case], capsys)


# --- an independent reviewer's answers -------------------------------------------------------------
from tests import review_imbalance as review  # noqa: E402

# Wrong answers no check can see on a CPU, or that do no harm; each with the reason it passes.
UNSEEN = {
    "wrong when d==1": "special-cases one-dimensional data, which the check does not draw",
    "1e-7 noise added": "a change far below float32's precision on these samples",
    "ignores num_classes (y.max()+1)": "the same result whenever every class has codes, which the exercise guarantees",
    "torch.unique classes": "the same result whenever every class has codes, which the exercise guarantees",
    "classes missing from first half": "differs only for a class absent from the first half of the batch",
    "ridge 1e-13": "a change of 1e-13, within float64 round-off",
    "hard-coded float64 cpu buffers": "float64 for float32 codes is accepted (numpy.cov returns it); the device "
                                      "shows only on a GPU",
    "always .double()": "float64 for float32 codes is accepted (numpy.cov returns it)",
    "zeros(dtype=) without device=": "the wrong device shows only on a GPU",
    "gather index on cpu": "the wrong device shows only on a GPU (the meta device accepts a CPU index)",
    ".cpu() result": "the wrong device shows only on a GPU (the meta device refuses .cpu() first)",
}
# a "right" answer that is wrong on a GPU: torch.arange(c) without device= beside labels on the GPU
REVIEW_WRONG_ON_GPU = {"NaN-masked"}
REVIEW = [(checks.check_smote, review.SMOTE), (checks.check_class_gaussians, review.GAUSS),
          (checks.check_bagan_discriminator_loss, review.BAGAN)]


@pytest.mark.parametrize("check, name", [(c, n) for c, t in REVIEW for n in t["wrong"] if n not in UNSEEN]
                         + [(checks.check_class_gaussians, n) for n in REVIEW_WRONG_ON_GPU],
                         ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_the_reviewer_s_wrong_answers_fail(check, name, capsys):
    answer = next(t["wrong"].get(name) or t["right"].get(name) for c, t in REVIEW if c is check)
    default = torch.get_default_dtype()
    try:
        result = check(answer)
    finally:
        torch.set_default_dtype(default)
    out = capsys.readouterr().out
    assert not result and out.startswith("[FAIL]") and out.count("\n") == 1, out


@pytest.mark.parametrize("check, name", [(c, n) for c, t in REVIEW for n in t["right"] if n not in REVIEW_WRONG_ON_GPU],
                         ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_the_reviewer_s_right_answers_pass(check, name, capsys):
    answer = next(t["right"][name] for c, t in REVIEW if c is check)
    assert_passes(check, answer, capsys)


def test_what_the_checks_cannot_see_is_still_wrong_answers():
    """The list above names only reviewer answers that exist, so it cannot hide a renamed one."""
    names = {n for _, t in REVIEW for n in t["wrong"]}
    assert set(UNSEEN) <= names and REVIEW_WRONG_ON_GPU <= set(review.GAUSS["right"])
