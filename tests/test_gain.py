"""GAINImputer: scikit-learn API, clear errors, no NaN out, and it learns from correlated columns."""
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from gancourse import gain
from gancourse.gain import GAINImputer


def correlated(n=600, seed=0):
    """Eight columns driven by one latent factor: a missing entry is predictable from the others."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1, 1, (n, 1))
    x = t * np.array([[1, 2, -1, 0.5, -2, 1.5, -0.5, 1]]) + 0.05 * rng.normal(size=(n, 8))
    missing = gain.mcar(x, 0.2, rng)
    return x, np.where(missing, np.nan, x), missing


def fast(**kwargs):
    return GAINImputer(**{"iterations": 300, "progress": False, "random_state": 0, **kwargs})


def test_imputes_only_the_holes_and_never_returns_nan():
    x, holed, missing = correlated()
    out = fast().fit_transform(holed)
    assert out.shape == x.shape and np.isfinite(out).all()
    assert np.array_equal(out[~missing], x[~missing])  # observed values kept exactly


def test_it_beats_the_column_mean_on_correlated_columns():
    x, holed, missing = correlated()
    gain_rmse = gain.scaled_rmse(fast(iterations=1000).fit_transform(holed), x, missing)
    mean_rmse = gain.scaled_rmse(SimpleImputer().fit_transform(holed), x, missing)
    assert gain_rmse < 0.5 * mean_rmse, (gain_rmse, mean_rmse)  # measured: 0.054 vs 0.267


def test_scikit_learn_api_params_clone_pipeline_and_seed():
    imputer = fast(hint_rate=0.5)
    assert imputer.get_params()["hint_rate"] == 0.5 and imputer.get_params()["alpha"] == 100.0
    assert imputer.set_params(alpha=10.0).alpha == 10.0 and clone(imputer).alpha == 10.0
    x, holed, _ = correlated()
    y = (x[:, 0] > 0).astype(int)
    pipe = make_pipeline(fast(), LogisticRegression()).fit(holed, y)
    assert pipe.score(holed, y) > 0.8
    a, b = fast().fit_transform(holed), fast().fit_transform(holed)
    assert np.array_equal(a, b)  # random_state makes runs repeat exactly


def test_reference_defaults():
    params = GAINImputer().get_params()
    assert (params["batch_size"], params["hint_rate"], params["alpha"], params["iterations"]) == (128, 0.9, 100.0, 10000)


@pytest.mark.parametrize("X,message", [
    ([["a", 1.0], ["b", np.nan]], "needs numeric input"),
    ([[np.nan, 1.0], [np.nan, 2.0], [np.nan, np.nan]], r"column\(s\) \[0\] have no observed value"),
    ([[1.0, 2.0], [3.0, 4.0]], "no missing values"),
    ([[np.inf, 1.0], [1.0, np.nan]], "contains infinity"),
    ([1.0, np.nan, 2.0], "expected a 2-D table"),
])
def test_bad_input_gets_a_clear_message(X, message):
    with pytest.raises(ValueError, match=message):
        fast().fit(np.array(X, dtype=object) if isinstance(X[0], list) and isinstance(X[0][0], str) else X)


@pytest.mark.parametrize("params,message", [
    ({"batch_size": 0}, "batch_size must be a whole number >= 1, got 0"),
    ({"iterations": 0}, "iterations must be a whole number >= 1, got 0"),
    ({"hint_rate": 2}, "hint_rate is a probability: between 0 and 1, got 2"),
    ({"hidden": 0}, "hidden must be None .* or a whole number >= 1, got 0"),
    ({"alpha": -1.0}, "alpha must be a finite number >= 0"),
    ({"learning_rate": 0.0}, "learning_rate must be a finite number > 0"),
    ({"batch_size": 2.5}, "batch_size must be a whole number"),
])
def test_bad_parameters_are_named_before_training(params, message):
    _, holed, _ = correlated(n=50)
    with pytest.raises(ValueError, match=message):
        fast(**params).fit(holed)


def test_parameters_of_the_wrong_type_and_true_data_of_the_wrong_shape():
    _, holed, _ = correlated(n=50)
    for params in ({"hint_rate": "0.5"}, {"alpha": None}):
        with pytest.raises(ValueError, match="must be a number"):
            fast(**params).fit(holed)
    with pytest.raises(ValueError, match="X_true must have X's shape"):
        fast(iterations=5).fit(holed, X_true=holed[:5])


def test_tiny_scales_are_imputed_inside_their_range():
    rng = np.random.default_rng(0)
    x = rng.uniform(1e-8, 2e-8, (60, 3))
    x[::4, 1] = np.nan
    out = fast(iterations=50).fit_transform(x)
    assert 1e-8 <= out[::4, 1].min() and out[::4, 1].max() <= 2e-8


def test_a_column_whose_range_overflows_is_refused_not_returned_as_inf():
    x = np.array([[1e308, 1.0], [-1e308, np.nan], [0.0, 2.0], [np.nan, 3.0]])
    with pytest.raises(ValueError, match=r"column\(s\) \[0\] span more than float64 can hold"):
        fast(iterations=5).fit(x)


class NullableFrame:
    """Stands in for a pandas DataFrame of nullable Int64 columns: NA is an object, not NaN."""

    NA = object()

    def __init__(self, rows):
        self.rows = rows

    def __array__(self, dtype=None, copy=None):
        return np.array(self.rows, dtype=object)

    def to_numpy(self, dtype=None, na_value=None):
        return np.array([[na_value if v is self.NA else v for v in row] for row in self.rows], dtype=dtype)


def test_nullable_integer_columns_are_numeric():
    rows = [[1, 2], [3, NullableFrame.NA], [5, 6], [NullableFrame.NA, 8]] * 10
    out = fast(iterations=5).fit_transform(NullableFrame(rows))
    assert out.shape == (40, 2) and np.isfinite(out).all() and out[0].tolist() == [1, 2]


def test_real_pandas_nullable_columns_are_numeric():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": pd.array([1, None, 3, 4] * 10, dtype="Int64"),
                          "b": pd.array([1.5, 2.5, None, 4.5] * 10, dtype="Float64")})
    assert np.isfinite(fast(iterations=5).fit_transform(frame)).all()


def test_transform_checks_the_number_of_columns():
    _, holed, _ = correlated()
    imputer = fast(iterations=5).fit(holed)
    with pytest.raises(ValueError, match="X has 3 columns but GAINImputer was fitted on 8"):
        imputer.transform(holed[:, :3])


def test_history_records_rmse_per_iteration_and_the_ablation_runs():
    x, holed, _ = correlated()
    imputer = fast(record_every=100).fit(holed, X_true=x)
    assert [r["iteration"] for r in imputer.history_] == [100, 200, 300]
    assert all(0 < r["rmse"] < 1 for r in imputer.history_)
    recon = fast(adversarial=False).fit(holed, X_true=x)
    assert all(r["loss_d"] == 0 for r in recon.history_) and np.isfinite(recon.transform(holed)).all()
    assert np.isfinite(fast(variant="paper").fit_transform(holed)).all()


def test_hint_variants():
    torch.manual_seed(0)
    mask = (torch.rand(2000, 5) < 0.8).float()
    h, scored = gain.hint(mask, 0.9, "reference")
    assert torch.equal(h * (1 - mask), torch.zeros_like(mask)) and scored.eq(1).all()
    assert abs(h.sum() / mask.sum() - 0.9) < 0.02  # 90% of the observed entries revealed
    h, scored = gain.hint(mask, 0.9, "paper")
    assert scored.sum(1).eq(1).all()  # the paper's B: exactly one hidden entry per row
    assert torch.equal(h[scored == 1], torch.full_like(h[scored == 1], 0.5))  # hidden: 0.5
    assert torch.equal(h[scored == 0], mask[scored == 0])  # revealed: the mask itself
    counts = scored.sum(0)  # the hidden column is drawn uniformly: 400 per column expected
    assert counts.min() > 320 and counts.max() < 480, counts
    with pytest.raises(ValueError, match="unknown GAIN variant"):
        gain.hint(mask, 0.9, "other")


def test_losses_match_their_formulas():
    torch.manual_seed(0)
    logits, mask = torch.randn(8, 3), (torch.rand(8, 3) < 0.7).float()
    scored = torch.ones_like(mask)
    p = torch.sigmoid(logits)
    expected_d = -(mask * p.log() + (1 - mask) * (1 - p).log()).mean()
    assert torch.allclose(gain.discriminator_loss(logits, mask, scored), expected_d, atol=1e-6)
    x, x_bar = torch.rand(8, 3), torch.rand(8, 3)
    loss, mse = gain.generator_loss(logits, mask, scored, x, x_bar, alpha=10.0)
    expected_mse = ((mask * (x - x_bar)) ** 2).mean() / mask.mean()
    expected_adv = -((1 - mask) * p.log()).mean()
    assert torch.allclose(mse, expected_mse) and torch.allclose(loss, expected_adv + 10 * expected_mse, atol=1e-6)


def test_device_parameter():
    x, holed, _ = correlated(n=100)
    assert np.array_equal(fast(iterations=20).fit_transform(holed),
                          fast(iterations=20, device=torch.device("cpu")).fit_transform(holed))
    with pytest.raises(ValueError, match="device must name a torch device"):
        fast(device="gpu0").fit(holed)
    if torch.cuda.is_available():
        imputer = fast(iterations=50, device="cuda").fit(holed, X_true=x)
        assert next(imputer.generator_.parameters()).is_cuda
        out = imputer.transform(holed)
        assert isinstance(out, np.ndarray) and np.isfinite(out).all()


def test_reconstruction_only_does_not_depend_on_alpha():
    """Adam divides each gradient by its running size, so scaling the only loss term changes nothing."""
    _, holed, _ = correlated(n=200)
    a = fast(iterations=200, adversarial=False, alpha=1.0).fit_transform(holed)
    b = fast(iterations=200, adversarial=False, alpha=100.0).fit_transform(holed)
    assert np.allclose(a, b, atol=1e-3 * np.nanstd(holed))


def test_scaled_rmse_does_not_blow_up_a_constant_column():
    from gancourse.gain import scaled_rmse
    truth = np.array([[0.0, 1.0], [0.0, 3.0], [0.0, 5.0]])  # column 0 is constant, like digits' border
    missing = np.array([[True, True], [False, False], [False, False]])
    imputed = truth.copy()
    imputed[0] = [1e-4, 2.0]  # off by 1e-4 (raw units) and by 1 (a quarter of column 1's range)
    assert scaled_rmse(imputed, truth, missing) == pytest.approx(np.sqrt((1e-8 + 0.25 ** 2) / 2))
