"""GAIN: imputing missing values with a GAN (Yoon, Jordon and van der Schaar, 2018).

The generator sees the data with its holes filled by small noise and the mask M (1 = observed), and
proposes every entry: X̄ = G(X̃, M, (1 − M) ⊙ Z). The imputed data keep the observed values,
X̂ = M ⊙ X̃ + (1 − M) ⊙ X̄. The discriminator guesses, entry by entry, which values were observed,
helped by a hint that reveals part of the mask (the reference code's H = M ⊙ B with
B ~ Bernoulli(hint_rate), or the paper's, see ``hint``). G is also
asked to reproduce the observed entries (the reconstruction term, weighted by alpha).

``GAINImputer`` follows scikit-learn's transformer API, so it drops into a ``Pipeline`` and is
compared directly with ``SimpleImputer``, ``KNNImputer`` and ``IterativeImputer``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn

from gancourse.run import progress_bar

NOISE_SCALE = 0.01  # the reference code fills holes with U(0, 0.01) before G sees them


def _mlp(dim: int, hidden: int) -> nn.Sequential:
    """(B, 2 dim) -> hidden -> hidden -> (B, dim): the reference code's three layers, Xavier init."""
    net = nn.Sequential(nn.Linear(2 * dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                        nn.Linear(hidden, dim))
    for m in net:
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight), nn.init.zeros_(m.bias)
    return net


def hint(mask: Tensor, hint_rate: float, variant: str = "reference") -> tuple[Tensor, Tensor]:
    """The hint H for the discriminator and the entries its loss is measured on.

    reference (the authors' code): B ~ Bernoulli(hint_rate) per entry, H = M ⊙ B, every entry
    scored. paper (Section 4 of the paper): B has a single 0 per row, at a column drawn uniformly,
    H = M ⊙ B + 0.5 (1 − B), and only that entry is scored; ``hint_rate`` is not used.
    """
    if variant == "reference":
        b = (torch.rand_like(mask) < hint_rate).to(mask.dtype)
        return mask * b, torch.ones_like(mask)
    if variant == "paper":
        hidden = torch.randint(mask.shape[1], (len(mask),), device=mask.device)  # one column per row
        b = 1 - F.one_hot(hidden, mask.shape[1]).to(mask.dtype)
        return mask * b + 0.5 * (1 - b), 1 - b
    raise ValueError(f"unknown GAIN variant {variant!r}; choose 'reference' or 'paper'")


def discriminator_loss(d_logits: Tensor, mask: Tensor, scored: Tensor) -> Tensor:
    """D guesses the mask: cross-entropy of D's logits against M, on the scored entries."""
    bce = F.binary_cross_entropy_with_logits(d_logits, mask, reduction="none")
    return (bce * scored).sum() / scored.sum().clamp(min=1)


def generator_loss(d_logits: Tensor, mask: Tensor, scored: Tensor, x: Tensor, x_bar: Tensor,
                   alpha: float) -> tuple[Tensor, Tensor]:
    """G: make D call imputed entries observed (-log D on 1 − M), plus alpha × the mean squared
    error on the observed entries. Returns (total loss, reconstruction MSE)."""
    fooled = F.binary_cross_entropy_with_logits(d_logits, torch.ones_like(mask), reduction="none")
    adversarial = (fooled * (1 - mask) * scored).sum() / scored.sum().clamp(min=1)
    mse = ((mask * x - mask * x_bar) ** 2).mean() / mask.mean().clamp(min=1e-8)
    return adversarial + alpha * mse, mse


class GAINImputer(TransformerMixin, BaseEstimator):
    """Impute missing values (NaN) with GAIN; the defaults are the reference implementation's.

    Parameters: ``batch_size`` 128, ``hint_rate`` 0.9, ``alpha`` 100 (weight of reconstruction),
    ``iterations`` 10,000, ``learning_rate`` 1e-3 (Adam), ``hidden`` units (None: as many as
    columns), ``variant`` "reference" or "paper" (the hint mechanism, see ``hint``), ``adversarial``
    (False: reconstruction only, an ablation), ``random_state``, ``progress`` (a progress bar),
    ``record_every`` (iterations between rows of ``history_``), ``device`` (where G and D train;
    batches and noise are drawn on the CPU, so a seed gives the same batches on any device).
    """

    def __init__(self, *, batch_size: int = 128, hint_rate: float = 0.9, alpha: float = 100.0,
                 iterations: int = 10000, learning_rate: float = 1e-3, hidden: int | None = None,
                 variant: str = "reference", adversarial: bool = True, random_state=None,
                 progress: bool = True, record_every: int = 100, device: str | torch.device = "cpu") -> None:
        self.batch_size, self.hint_rate, self.alpha = batch_size, hint_rate, alpha
        self.iterations, self.learning_rate, self.hidden = iterations, learning_rate, hidden
        self.variant, self.adversarial, self.random_state = variant, adversarial, random_state
        self.progress, self.record_every, self.device = progress, record_every, device

    # --- input checks ----------------------------------------------------------------------
    def _as_array(self, X) -> np.ndarray:
        try:
            if hasattr(X, "to_numpy"):  # pandas: nullable columns (Int64, Float64) hold pd.NA
                x = X.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                x = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError("GAINImputer needs numeric input; encode text or categorical columns as "
                             "numbers first (e.g. sklearn.preprocessing.OrdinalEncoder)") from None
        if x.ndim != 2:
            raise ValueError(f"expected a 2-D table (rows, columns), got shape {x.shape}")
        if np.isinf(x).any():
            raise ValueError("X contains infinity; replace it with NaN if it means 'missing'")
        return x

    def _check_params(self) -> None:
        whole = lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool)  # noqa: E731
        number = lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)  # noqa: E731
        for name in ("hint_rate", "alpha", "learning_rate"):
            if not number(getattr(self, name)):
                raise ValueError(f"{name} must be a number, got {getattr(self, name)!r}")
        problems = [
            (whole(self.batch_size) and self.batch_size >= 1, "batch_size must be a whole number >= 1"),
            (whole(self.iterations) and self.iterations >= 1, "iterations must be a whole number >= 1"),
            (self.hidden is None or (whole(self.hidden) and self.hidden >= 1),
             "hidden must be None (as many units as columns) or a whole number >= 1"),
            (whole(self.record_every) and self.record_every >= 0, "record_every must be a whole number >= 0"),
            (0 <= self.hint_rate <= 1, "hint_rate is a probability: between 0 and 1"),
            (np.isfinite(self.alpha) and self.alpha >= 0, "alpha must be a finite number >= 0"),
            (np.isfinite(self.learning_rate) and self.learning_rate > 0,
             "learning_rate must be a finite number > 0"),
        ]
        for ok, message in problems:
            if not ok:
                raise ValueError(f"{message}, got {self._value_of(message)!r}")

    def _value_of(self, message: str):
        return getattr(self, message.split()[0])

    def fit(self, X, y=None, *, X_true=None) -> "GAINImputer":
        """Train G and D on X (NaN = missing). With ``X_true`` (complete data of the same shape),
        ``history_`` also records the RMSE on the missing entries every ``record_every`` iterations."""
        self._check_params()
        x = self._as_array(X)
        mask = ~np.isnan(x)
        empty = np.flatnonzero(~mask.any(0))
        if len(empty):
            raise ValueError(f"column(s) {empty.tolist()} have no observed value; drop them before imputing")
        if mask.all():
            raise ValueError("X has no missing values (NaN): GAIN learns from which entries are missing. "
                             "Mask some values first, or use the data as it is")
        if self.variant not in ("reference", "paper"):
            raise ValueError(f"unknown GAIN variant {self.variant!r}; choose 'reference' or 'paper'")
        try:
            self.device_ = torch.device(self.device)
        except (RuntimeError, TypeError):
            raise ValueError(f"device must name a torch device ('cpu', 'cuda', 'mps'), got {self.device!r}") from None
        self.n_features_in_ = x.shape[1]
        self.min_, self.max_ = np.nanmin(x, 0), np.nanmax(x, 0)
        with np.errstate(over="ignore"):
            wide = np.flatnonzero(~np.isfinite(self.max_ - self.min_))
        if len(wide):
            raise ValueError(f"column(s) {wide.tolist()} span more than float64 can hold "
                             f"(max - min overflows); rescale them before imputing")
        self.seed_ = int(check_random_state(self.random_state).randint(2**31 - 1))
        gen = torch.Generator().manual_seed(self.seed_)
        torch.manual_seed(self.seed_)  # the networks' initial weights
        dev = self.device_
        data = torch.nan_to_num(self._scaled(x)).to(dev)  # holes: 0
        m = torch.from_numpy(mask).float().to(dev)
        if X_true is not None and np.shape(X_true) != x.shape:
            raise ValueError(f"X_true must have X's shape {x.shape}, got {np.shape(X_true)}")
        truth = self._scaled(self._as_array(X_true)).to(dev) if X_true is not None else None
        dim = x.shape[1]
        self.generator_ = _mlp(dim, self.hidden or dim).to(dev)
        self.discriminator_ = _mlp(dim, self.hidden or dim).to(dev)
        opt_g = torch.optim.Adam(self.generator_.parameters(), lr=self.learning_rate)
        opt_d = torch.optim.Adam(self.discriminator_.parameters(), lr=self.learning_rate)
        self.history_ = []
        for it in progress_bar(range(1, self.iterations + 1), desc="training GAIN",
                               disable=not self.progress, mininterval=1.0):
            idx = torch.randint(len(data), (min(self.batch_size, len(data)),), generator=gen).to(dev)
            x_mb, m_mb = data[idx], m[idx]
            z = (torch.rand(x_mb.shape, generator=gen) * NOISE_SCALE).to(dev)
            x_tilde = m_mb * x_mb + (1 - m_mb) * z  # holes filled with small noise
            h, scored = hint(m_mb, self.hint_rate, self.variant)
            x_bar = torch.sigmoid(self.generator_(torch.cat([x_tilde, m_mb], 1)))
            x_hat = m_mb * x_tilde + (1 - m_mb) * x_bar
            loss_d = torch.zeros((), device=dev)
            if self.adversarial:  # (1) D: guess which entries were observed
                loss_d = discriminator_loss(self.discriminator_(torch.cat([x_hat.detach(), h], 1)), m_mb, scored)
                _finite(loss_d, it)
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
            # (2) G: fool D on the imputed entries, reproduce the observed ones
            if self.adversarial:
                d_logits = self.discriminator_(torch.cat([x_hat, h], 1))
                loss_g, mse = generator_loss(d_logits, m_mb, scored, x_tilde, x_bar, self.alpha)
            else:
                mse = ((m_mb * x_tilde - m_mb * x_bar) ** 2).mean() / m_mb.mean().clamp(min=1e-8)
                loss_g = self.alpha * mse
            _finite(loss_g, it)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            if self.record_every and (it % self.record_every == 0 or it == self.iterations):
                row = {"iteration": it, "loss_d": loss_d.item(), "loss_g": loss_g.item(), "mse": mse.item()}
                if truth is not None:
                    row["rmse"] = rmse(self._impute_scaled(data, m), truth, m)
                self.history_.append(row)
        return self

    # --- imputing -------------------------------------------------------------------------
    def _span(self) -> np.ndarray:
        """Each column's fitted range; 1 for a constant column (any positive scale keeps it exact)."""
        span = self.max_ - self.min_
        return np.where(span > 0, span, 1.0)

    def _scaled(self, x: np.ndarray) -> Tensor:
        """Min-max scaling to [0, 1] with the fitted ranges; NaN stays NaN."""
        return torch.from_numpy((x - self.min_) / self._span()).float()

    @torch.no_grad()
    def _impute_scaled(self, data: Tensor, m: Tensor) -> Tensor:
        z = (torch.rand(data.shape, generator=torch.Generator().manual_seed(self.seed_)) * NOISE_SCALE).to(data.device)
        x_tilde = m * torch.nan_to_num(data) + (1 - m) * z
        x_bar = torch.sigmoid(self.generator_(torch.cat([x_tilde, m], 1)))
        return m * x_tilde + (1 - m) * x_bar

    def transform(self, X) -> np.ndarray:
        """X with every NaN replaced by G's proposal; observed values are kept exactly."""
        check_is_fitted(self, "generator_")
        x = self._as_array(X)
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {x.shape[1]} columns but GAINImputer was fitted on {self.n_features_in_}")
        mask = ~np.isnan(x)
        data, m = self._scaled(x).to(self.device_), torch.from_numpy(mask).float().to(self.device_)
        imputed = self._impute_scaled(data, m).cpu().double().numpy()
        out = np.where(mask, x, imputed * self._span() + self.min_)
        if not np.isfinite(out).all():  # fit's checks should make this impossible; never return NaN
            raise FloatingPointError("GAIN produced a non-finite value; check the data's scale and refit")
        return out


def _finite(loss: Tensor, iteration: int) -> None:
    """Stop before a NaN or infinite loss reaches the weights."""
    if not torch.isfinite(loss):
        raise FloatingPointError(f"GAIN's losses became non-finite at iteration {iteration}; lower "
                                 "learning_rate or alpha, or rescale the data")


def rmse(imputed: Tensor, truth: Tensor, mask: Tensor) -> float:
    """Root mean squared error on the missing entries (mask 0), in min-max scaled units."""
    missing = 1 - mask
    return (((imputed - torch.nan_to_num(truth)) ** 2 * missing).sum() / missing.sum()).sqrt().item()


def scaled_rmse(imputed: np.ndarray, truth: np.ndarray, missing: np.ndarray,
                reference: np.ndarray | None = None) -> float:
    """The paper's metric: RMSE on the ``missing`` entries after min-max scaling by the column
    ranges of ``reference`` (default: ``truth``), so every column counts alike."""
    reference = truth if reference is None else reference
    low, span = reference.min(0), reference.max(0) - reference.min(0)
    span = np.where(span > 0, span, 1.0)  # a constant column (digits' blank border) keeps its own units
    diff = ((imputed - low) / span - (truth - low) / span)[missing]
    return float(np.sqrt((diff ** 2).mean()))


def mcar(x: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Missing completely at random: each entry dropped with probability ``rate`` (returns the mask
    of missing entries), keeping at least one observed value per column."""
    missing = rng.random(x.shape) < rate
    for j in np.flatnonzero(missing.all(0)):
        missing[rng.integers(len(x)), j] = False
    return missing


def mar(x: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Missing at random: the first column is always observed; in every other column, rows with a
    larger first-column value lose entries more often (logistic in its rank), ``rate`` overall."""
    rank = x[:, 0].argsort().argsort() / max(len(x) - 1, 1)  # 0..1
    weight = 1 / (1 + np.exp(-6 * (rank - 0.5)))
    p = np.clip(rate * weight / weight.mean(), 0, 0.95)
    missing = rng.random(x.shape) < p[:, None]
    missing[:, 0] = False
    for j in np.flatnonzero(missing.all(0)):
        missing[rng.integers(len(x)), j] = False
    return missing
