"""The domain classifier and the metrics measured in its features."""
import pytest
import torch

from gancourse import metrics
from gancourse.classifier import DomainClassifier, load_classifier, predict
from gancourse.data import load_dataset


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
    real = load_dataset("mnist", "test").images
    a, b = real[:1000], real[1000:2000]
    noise = torch.rand(1000, 1, 28, 28) * 2 - 1
    same = metrics.fid(quick_classifier, a, a)
    other_real = metrics.fid(quick_classifier, a, b)
    far = metrics.fid(quick_classifier, a, noise)
    assert abs(same) < 1e-3 and other_real < far / 10


def test_coverage_entropy_flags_mode_collapse(quick_classifier):
    real = load_dataset("mnist", "test")
    spread = metrics.coverage(quick_classifier, real.images[:1000])
    one_class = metrics.coverage(quick_classifier, real.images[real.labels == 1][:500])
    assert spread["entropy"] > 1.8 > 0.8 > one_class["entropy"]
    assert sum(spread["counts"]) == 1000 and spread["max_entropy"] == pytest.approx(2.302585, abs=1e-6)


def test_metrics_check_shapes(quick_classifier):
    with pytest.raises(ValueError, match=r"expected generated images of shape \(N, 1, 28, 28\)"):
        metrics.fid(quick_classifier, torch.zeros(4, 1, 28, 28), torch.zeros(4, 784))
