"""Figures carry titles and labelled axes; the GIF has its frames; device and profile choice."""
import io
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest
import torch
from PIL import Image

from gancourse.device import get_device, pick_profile
from gancourse.models import build_models
from gancourse.plot import LivePlot, SampleSnapshots, plot_history, save_gif, show_images

HISTORY = [{"step": i, "loss_d": 1.3, "loss_g": 0.8, "d_real": 0.6, "d_fake": 0.4} for i in range(1, 40)]


def test_figures_have_titles_and_labelled_axes():
    fig = plot_history(HISTORY)
    for ax in fig.axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    fig = show_images(torch.zeros(6, 1, 28, 28), nrow=3, title="Six blanks")
    assert fig.axes[0].get_title() == "Six blanks" and fig.axes[0].get_xlabel()
    with pytest.raises(ValueError, match="history is empty"):
        plot_history([])


def test_snapshots_and_gif(tmp_path):
    G, D = build_models("mlp-gan")
    snaps = SampleSnapshots(100, every=2, n=4)
    rng = torch.get_rng_state()
    for step in range(1, 7):
        snaps(step, G, D, HISTORY)
    assert torch.equal(rng, torch.get_rng_state())  # sampling never shifts the training noise
    assert [s for s, _ in snaps.frames] == [2, 4, 6]
    path = save_gif(snaps.frames, tmp_path / "p.gif")
    assert Image.open(path).n_frames == 3


def test_live_plot_is_a_no_op_outside_ipython():
    G, D = build_models("mlp-gan")
    live = LivePlot(100, every=1)
    live(1, G, D, HISTORY)
    assert live.handle is None


def test_device_and_profile(monkeypatch):
    device = get_device(verbose=False)
    assert device.type in ("cuda", "mps", "cpu")
    monkeypatch.delenv("GANCOURSE_PROFILE", raising=False)
    assert pick_profile("cpu") == "cpu" and pick_profile("cuda") == "gpu"
    assert pick_profile("cuda", requested="quick") == "quick"
    monkeypatch.setenv("GANCOURSE_PROFILE", "quick")
    assert pick_profile("cpu") == "quick"
    monkeypatch.setenv("GANCOURSE_PROFILE", "turbo")
    with pytest.raises(ValueError, match="unknown profile 'turbo'"):
        pick_profile("cpu")


def test_a_colab_gpu_gets_the_colab_profile_and_every_gpu_run_has_a_minute_cap(monkeypatch):
    from gancourse.config import PROFILES, make_config
    monkeypatch.delenv("GANCOURSE_PROFILE", raising=False)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert pick_profile("cuda") == "gpu"
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261101")
    assert pick_profile("cuda") == "colab" and pick_profile("cpu") == "cpu"
    for recipe in PROFILES["gpu"]:
        gpu, colab = make_config(recipe, "gpu"), make_config(recipe, "colab")
        assert gpu.minutes is not None and colab.minutes is not None and colab.minutes < gpu.minutes
        assert colab.num_steps < gpu.num_steps and colab.model_kwargs == gpu.model_kwargs


def test_sample_grids_are_wide_enough_to_read_and_rows_can_be_named():
    images = torch.rand(20, 1, 28, 28) * 2 - 1
    fig = show_images(images, nrow=10, row_labels=["T-shirt/top", "Trouser"])
    png = io.BytesIO()
    fig.savefig(png, format="png", bbox_inches="tight")  # as notebooks store it: margins cropped
    assert fig.dpi >= 100 and Image.open(png).width >= 600
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["T-shirt/top", "Trouser"]
    with pytest.raises(ValueError, match="3 row labels for 2 rows"):
        show_images(images, nrow=10, row_labels=["a", "b", "c"])
    plt.close("all")


def test_a_strip_of_frames_ends_on_the_last_one():
    from gancourse.plot import show_frames
    frames = [(step, torch.full((10, 10, 1), step // 3, dtype=torch.uint8)) for step in (100, 200, 300, 400, 500, 600)]
    fig = show_frames(frames, count=4)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "step 100" and titles[-1] == "step 600" and len(titles) == 4
    plt.close(fig)
