"""The domain classifier and the metrics measured in its features."""
import math

import pytest
import torch

from gancourse import metrics
from gancourse.classifier import DomainClassifier, load_classifier, predict
from gancourse.data import load_dataset
from tests.conftest import MIRROR, mirror_has


@pytest.fixture(scope="module")
def quick_classifier(tmp_path_factory):
    """A classifier trained for the quick profile's 30 steps, cached in a temporary folder."""
    import os
    os.environ["GANCOURSE_OFFLINE"] = "1"
    return load_classifier("mnist", "quick", cache_dir=tmp_path_factory.mktemp("cache"), progress=False)


def test_classifier_shapes_and_cache(tmp_path, capsys):
    clf = load_classifier("mnist", "quick", cache_dir=tmp_path, progress=False)
    assert "test accuracy after 30 steps" in capsys.readouterr().out
    assert len(list(tmp_path.glob("classifier_mnist_*_30.pt"))) == 1
    again = load_classifier("mnist", "quick", cache_dir=tmp_path, progress=False)
    assert capsys.readouterr().out == ""  # loaded, not retrained
    x = torch.zeros(3, 1, 28, 28)
    assert torch.equal(clf(x), again(x)) and clf.features(x).shape == (3, DomainClassifier.num_features)


def test_even_a_quick_classifier_beats_chance(quick_classifier):
    test = load_dataset("mnist", "test")
    accuracy = metrics.accuracy(quick_classifier, test.images[:1000], test.labels[:1000])
    assert accuracy > 0.5  # 30 steps; the cpu profile's classifier is measured in the README
    assert predict(quick_classifier, test.images[:4]).sum(1).allclose(torch.ones(4))


def test_fid_of_a_set_with_itself_is_zero_and_noise_is_far(quick_classifier):
    real = load_dataset("mnist", "test").images  # 10,000 images, or the shipped sample's 1,000
    half = min(1000, len(real) // 2)
    a, b = real[:half], real[half:2 * half]
    noise = torch.rand(half, 1, 28, 28) * 2 - 1
    same = metrics.fid(quick_classifier, a, a)
    other_real = metrics.fid(quick_classifier, a, b)
    far = metrics.fid(quick_classifier, a, noise)
    assert abs(same) < 1e-3 and other_real < far / 10


def test_frechet_distance_of_features_matches_torchmetrics_fid(quick_classifier):
    real = load_dataset("mnist", "test").images
    a, b = real[:500], real[500:1000]
    blurred = torch.nn.functional.avg_pool2d(b, 3, stride=1, padding=1)
    fa = metrics.features(quick_classifier, a, batch_size=128)
    assert fa.shape == (500, DomainClassifier.num_features) and fa.dtype == torch.float64
    for other in (b, blurred):
        expected = metrics.fid(quick_classifier, a, other)
        got = metrics.frechet_distance(fa, metrics.features(quick_classifier, other))
        assert got == pytest.approx(expected, rel=1e-4, abs=1e-4)
    assert abs(metrics.frechet_distance(fa, fa)) < 1e-5  # rounding only (float64, 128 features)
    with pytest.raises(ValueError, match=r"shape \(N, d\)"):
        metrics.frechet_distance(fa[:1], fa)


def test_coverage_entropy_flags_mode_collapse(quick_classifier):
    real = load_dataset("mnist", "test")
    spread = metrics.coverage(quick_classifier, real.images[:1000])
    one_class = metrics.coverage(quick_classifier, real.images[real.labels == 1][:500])
    assert spread["entropy"] > 1.8 > 0.8 > one_class["entropy"]
    assert sum(spread["counts"]) == 1000 and spread["max_entropy"] == pytest.approx(2.302585, abs=1e-6)


def test_class_spread_is_one_for_real_data_and_near_zero_for_one_image_per_class(quick_classifier):
    test = load_dataset("mnist", "test")
    a, ya, b, yb = test.images[:500], test.labels[:500], test.images[500:1000], test.labels[500:1000]
    real = metrics.class_spread(quick_classifier, a, ya, b, yb)
    assert 0.6 < real["mean"] < 1.6 and len(real["per_class"]) == 10
    first = torch.stack([a[ya == c][0] for c in range(10)])  # one image per class, 50 times
    labels = torch.arange(10).repeat(50)
    collapsed = metrics.class_spread(quick_classifier, first[labels] + 0.01 * torch.randn(500, 1, 28, 28),
                                     labels, b, yb)
    assert collapsed["mean"] < 0.05
    partial = metrics.class_spread(quick_classifier, a[ya != 9], ya[ya != 9], b, yb)  # no 9s generated
    assert partial["classes"] == list(range(9)) and math.isnan(partial["per_class"][9])
    assert 0.6 < partial["mean"] < 1.6
    with pytest.raises(ValueError, match="at least 2 generated and 2 real images of some class"):
        metrics.class_spread(quick_classifier, a[:1], ya[:1], b, yb)


def test_metrics_check_shapes(quick_classifier):
    with pytest.raises(ValueError, match=r"expected generated images of shape \(N, 1, 28, 28\)"):
        metrics.fid(quick_classifier, torch.zeros(4, 1, 28, 28), torch.zeros(4, 784))


def brute_force_parzen(samples, x, sigma):
    """The Parzen log-likelihood written out term by term, in float64."""
    samples, x = samples.double().flatten(1), x.double().flatten(1)
    d = samples.shape[1]
    out = []
    for xi in x:
        kernels = [math.exp(-((xi - s) ** 2).sum().item() / (2 * sigma ** 2)) for s in samples]
        out.append(math.log(sum(kernels) / len(samples)) - d / 2 * math.log(2 * math.pi * sigma ** 2))
    return torch.tensor(out, dtype=torch.float64)


def test_parzen_matches_the_formula_written_out():
    torch.manual_seed(0)
    samples, x = torch.rand(50, 6), torch.rand(7, 6)
    ours = metrics.parzen_log_likelihood(samples, x, [0.3, 1.0], batch_size=3)
    for j, sigma in enumerate([0.3, 1.0]):
        assert torch.allclose(ours[:, j], brute_force_parzen(samples, x, sigma), atol=1e-4)


def test_parzen_is_stable_where_the_naive_formula_underflows():
    torch.manual_seed(0)
    samples, x = torch.rand(20, 784), torch.rand(5, 784)  # distances ~ 11: exp(-11 / 0.02) = 0
    ll = metrics.parzen_log_likelihood(samples, x, [0.1])
    assert torch.isfinite(ll).all() and (ll < -1000).all()
    kernels = torch.exp(-((x[:1] - samples) ** 2).sum(1).double() / (2 * 0.1 ** 2))
    assert kernels.sum() == 0  # what log-sum-exp avoids: the naive sum underflows, log(0) = -inf


def test_parzen_picks_sigma_on_validation_and_reports_a_standard_error():
    torch.manual_seed(0)
    centres = torch.rand(10, 16)
    draw = lambda n: (centres[torch.randint(0, 10, (n,))] + 0.05 * torch.randn(n, 16)).clamp(0, 1)  # noqa: E731
    result = metrics.parzen(draw(500), draw(200), draw(100), sigmas=[0.01, 0.05, 0.5])
    assert result["sigma"] == pytest.approx(0.05)  # the width the data were drawn with
    assert result["se"] > 0 and sorted(result["validation_ll"]) == pytest.approx([0.01, 0.05, 0.5])
    far = metrics.parzen(torch.rand(500, 16), draw(200), draw(100), sigmas=[0.01, 0.05, 0.5])
    assert far["ll"] < result["ll"] - 10  # uniform noise explains the data worse
    with pytest.raises(ValueError, match=r"pixels in \[0, 1\].*\(x \+ 1\) / 2"):
        metrics.parzen(draw(10) * 2 - 1, draw(10), draw(10))


def test_nearest_neighbours_finds_copies():
    torch.manual_seed(0)
    reference = torch.rand(100, 1, 28, 28)
    dist, idx = metrics.nearest_neighbours(reference[[7, 42, 3]], reference, batch_size=2)
    assert idx.tolist() == [7, 42, 3] and dist.max() < 1e-2
    dist, _ = metrics.nearest_neighbours(torch.rand(3, 1, 28, 28), reference)
    assert dist.min() > 5  # fresh noise is far from every reference image


def test_inception_fid_explains_missing_weights(tmp_path, monkeypatch):
    monkeypatch.delenv("GANCOURSE_INCEPTION_WEIGHTS", raising=False)
    with pytest.raises(FileNotFoundError, match="pt_inception-2015-12-05.*GANCOURSE_INCEPTION_WEIGHTS"):
        metrics.inception_fid(torch.zeros(2, 1, 28, 28), torch.zeros(2, 1, 28, 28))
    with pytest.raises(FileNotFoundError, match=r"at .*missing\.pth"):
        metrics.inception_fid(torch.zeros(2, 1, 28, 28), torch.zeros(2, 1, 28, 28), tmp_path / "missing.pth")


@pytest.mark.skipif(not mirror_has("MNIST"), reason="needs the full MNIST in $GANCOURSE_DATA")
def test_the_cpu_profile_classifier_is_above_98_percent_on_mnist_test(monkeypatch):
    monkeypatch.setenv("GANCOURSE_DATA", str(MIRROR))
    clf = load_classifier("mnist", "cpu", progress=False)  # trained once (about 40 s), then cached
    test = load_dataset("mnist", "test")
    assert len(test.images) == 10000
    assert metrics.accuracy(clf, test.images, test.labels) > 0.98
