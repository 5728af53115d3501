"""The CLI contract: train, sample, --help, and one-line errors with exit code 2."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from gancourse.cli import main
from gancourse.runs import load


def test_help_on_every_command():
    for argv in (["--help"], ["train", "--help"], ["sample", "--help"], ["evaluate", "--help"],
                 ["translate", "--help"]):
        out = subprocess.run([sys.executable, "-m", "gancourse", *argv], capture_output=True, text=True)
        assert out.returncode == 0 and "usage:" in out.stdout


@pytest.mark.parametrize("argv,message", [
    (["train", "stylegan", "--dataset", "mnist", "--out", "x"], "invalid choice: 'stylegan' (choose from 'mlp-gan', 'dcgan', 'cgan', 'acgan', 'bagan', 'pix2pix', 'cyclegan', 'began', 'toy-gan', 'autoencoder', 'vae')"),
    (["train", "dcgan", "--dataset", "cifar", "--out", "x"], "invalid choice: 'cifar' (choose from 'mnist', 'fashion-mnist', 'ring8', 'grid25', or folder:PATH)"),
    (["train", "dcgan", "--dataset", "mnist", "--steps", "0", "--out", "x"], "expected a positive whole number, got '0'"),
    (["train", "dcgan", "--dataset", "mnist", "--minutes", "-1", "--out", "x"], "expected a positive number, got '-1'"),
    (["train", "dcgan", "--dataset", "mnist", "--steps", "2", "--minutes", "1", "--out", "x"], "not allowed with argument"),
    (["sample", "does-not-exist", "--n", "4", "--out", "x.npz"], "no checkpoint at does-not-exist/checkpoint.pt"),
    (["evaluate", "nowhere.npz", "--dataset", "mnist"], "nowhere.npz is neither a run directory nor an .npz file"),
    (["evaluate", "x.npz"], "the following arguments are required: --dataset"),
    (["train", "toy-gan", "--dataset", "grid25", "--pack", "0", "--out", "x"], "expected a positive whole number, got '0'"),
    (["train", "toy-gan", "--dataset", "grid25", "--profile", "quick", "--pack", "3", "--out", "x"],
     "batch_size 256 is not divisible by pack=3"),
    (["train", "toy-gan", "--dataset", "mnist", "--profile", "quick", "--out", "x"],
     "toy-gan trains on points: dataset must be a toy dataset (ring8, grid25), got 'mnist'"),
    (["train", "mlp-gan", "--dataset", "mnist", "--profile", "quick", "--pack", "2", "--out", "x"],
     "mlp-gan does not take pack; pack is an argument of dcgan, toy-gan"),
    (["train", "dcgan", "--dataset", "mnist", "--profile", "quick", "--pack", "3", "--out", "x"],
     "batch_size 32 is not divisible by pack=3"),
    (["train", "dcgan", "--dataset", "mnist", "--profile", "quick", "--minibatch-std", "--out", "x"],
     "dcgan does not take minibatch_std"),
    (["train", "dcgan", "--dataset", "mnist", "--profile", "quick", "--unroll", "5", "--out", "x"],
     "unroll=5 is an option of toy-gan; dcgan would record it but not use it"),
    (["train", "dcgan", "--dataset", "grid25", "--profile", "quick", "--out", "x"],
     "dcgan trains on images: dataset must be an image dataset, not the toy 'grid25'"),
    (["train", "mlp-gan", "--dataset", "mnist", "--ema", "1", "--out", "x"],
     "argument --ema: expected a decay in [0, 1) such as 0.999 (0: off), got '1'"),
    (["train", "vae", "--dataset", "mnist", "--profile", "quick", "--ema", "0.99", "--out", "x"],
     "vae is not trained by train_gan's steps and would record it but not use it"),
    (["train", "toy-gan", "--dataset", "ring8", "--profile", "quick", "--loss", "wgan-gp", "--unroll", "2",
      "--out", "x"], "unroll=2 needs a loss without a penalty or clipping"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_unreadable_checkpoint_from_a_real_process(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    out = subprocess.run([sys.executable, "-m", "gancourse", "sample", str(tmp_path), "--n", "2",
                          "--out", str(tmp_path / "s.npz")], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.startswith("gancourse: error: ") and "not a readable checkpoint" in out.stderr
    assert out.stderr.count("\n") == 1


@pytest.mark.parametrize("model", ["mlp-gan", "dcgan", "vae", "autoencoder"])
def test_train_then_sample(tmp_path, capsys, model):
    run = tmp_path / "run"
    assert main(["train", model, "--dataset", "fashion-mnist", "--profile", "quick", "--steps", "6",
                 "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {run}/" in out
    for name in ("samples.png", "losses.png", "progress.gif", "checkpoint.pt", "history.csv", "config.json"):
        assert (run / name).is_file(), name
    assert main(["sample", str(run), "--n", "7", "--out", str(tmp_path / "s.npz")]) == 0
    with np.load(tmp_path / "s.npz") as f:
        assert f["images"].shape == (7, 28, 28) and f["images"].dtype == np.uint8
        assert f["labels"].tolist() == [-1] * 7
    assert main(["sample", str(run), "--n", "2", "--labels", "3", "--out", str(tmp_path / "t.npz")]) == 2
    assert "needs a conditional model" in capsys.readouterr().err
    # a second train into the same directory resumes instead of starting over
    assert main(["train", model, "--dataset", "fashion-mnist", "--profile", "quick", "--steps", "8",
                 "--out", str(run)]) == 0
    assert "resuming from step 6" in capsys.readouterr().out


def test_evaluate_a_file_of_samples_writes_the_json_keys(tmp_path, capsys):
    import json

    import torch

    from gancourse.data import load_dataset, to_uint8
    test = load_dataset("mnist", "test")
    np.savez(tmp_path / "real.npz", images=to_uint8(test.images[-300:]).numpy(),
             labels=test.labels[-300:].numpy())
    assert main(["evaluate", str(tmp_path / "real.npz"), "--dataset", "mnist", "--profile", "quick",
                 "--json", str(tmp_path / "m.json")]) == 0
    out = capsys.readouterr().out
    assert "Parzen log-likelihood" in out and "accuracy on the labels" in out
    result = json.loads((tmp_path / "m.json").read_text())
    assert {"parzen_ll", "parzen_se", "parzen_sigma", "fid", "kid", "coverage_entropy",
            "accuracy", "class_spread"} <= set(result)
    assert 0.5 < result["class_spread"] < 2  # real test images are as varied as real test images
    assert any(abs(result["parzen_sigma"] - s) < 1e-6 for s in torch.logspace(-1, 0, 10).tolist())
    assert result["accuracy"] > 0.5 and result["coverage_entropy"] > 1.8
    # unlabelled samples (labels -1, as sample writes for unconditional models): no accuracy key
    np.savez(tmp_path / "unlabelled.npz", images=to_uint8(test.images[-300:]).numpy(),
             labels=np.full(300, -1))
    assert main(["evaluate", str(tmp_path / "unlabelled.npz"), "--dataset", "mnist", "--profile", "quick",
                 "--json", str(tmp_path / "u.json")]) == 0
    assert "accuracy" not in json.loads((tmp_path / "u.json").read_text())


def test_evaluate_rejects_files_that_are_not_samples(tmp_path, capsys):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    np.savez(tmp_path / "flat.npz", images=np.zeros((3, 784), np.uint8))
    (tmp_path / "junk.npz").write_bytes(b"junk")
    for name, message in (("other.npz", "has no 'images' array (keys: x)"),
                          ("flat.npz", "expected images of shape (N, 28, 28)"),
                          ("junk.npz", "cannot read")):
        assert main(["evaluate", str(tmp_path / name), "--dataset", "mnist"]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_evaluate_a_conditional_run_reports_accuracy(tmp_path, capsys):
    import json
    run = tmp_path / "run"
    assert main(["train", "cgan", "--dataset", "mnist", "--profile", "quick", "--steps", "2",
                 "--out", str(run)]) == 0
    assert main(["evaluate", str(run), "--dataset", "mnist", "--n", "200", "--profile", "quick",
                 "--json", str(tmp_path / "m.json")]) == 0
    result = json.loads((tmp_path / "m.json").read_text())
    assert result["n_samples"] == 200 and 0 <= result["accuracy"] <= 1


def test_toy_gan_trains_samples_points_evaluates_and_resumes(tmp_path, capsys):
    import json
    run = tmp_path / "run"
    assert main(["train", "toy-gan", "--dataset", "ring8", "--profile", "quick", "--steps", "20", "--pack", "2",
                 "--minibatch-std", "--unroll", "1", "--loss", "hinge", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "modes " in out and "/8, high quality" in out and f"wrote {run}/" in out
    for name in ("samples.png", "losses.png", "checkpoint.pt", "history.csv", "config.json"):
        assert (run / name).is_file(), name
    saved = json.loads((run / "config.json").read_text())
    assert (saved["dataset"], saved["loss"], saved["unroll"]) == ("ring8", "hinge", 1)
    assert saved["model_kwargs"]["pack"] == 2 and saved["model_kwargs"]["minibatch_std"] is True
    assert main(["sample", str(run), "--n", "7", "--out", str(tmp_path / "p.npz")]) == 0
    with np.load(tmp_path / "p.npz") as f:
        assert set(f.files) == {"points"} and f["points"].shape == (7, 2) and f["points"].dtype == np.float32
    assert main(["evaluate", str(run), "--dataset", "ring8", "--json", str(tmp_path / "m.json")]) == 0
    assert "modes captured" in capsys.readouterr().out
    result = json.loads((tmp_path / "m.json").read_text())
    assert result["n_samples"] == 2500 and result["total_modes"] == 8 and 0 <= result["high_quality"] <= 1
    for argv, message in ((["evaluate", str(run), "--dataset", "grid25"], "trained on ring8: evaluate it with "
                           "--dataset ring8"),
                          (["evaluate", str(run), "--dataset", "mnist"], "evaluate it with --dataset ring8")):
        assert main(argv) == 2
        assert message in capsys.readouterr().err
    assert main(["train", "toy-gan", "--dataset", "ring8", "--profile", "quick", "--steps", "25", "--pack", "2",
                 "--minibatch-std", "--unroll", "1", "--loss", "hinge", "--out", str(run)]) == 0
    assert "resuming from step 20" in capsys.readouterr().out


def test_evaluate_a_file_of_points(tmp_path, capsys):
    import json

    from gancourse.toy import TOY_DATASETS
    centers = TOY_DATASETS["grid25"].centers().numpy()
    np.savez(tmp_path / "three.npz", points=np.repeat(centers[:3], 10, axis=0))
    assert main(["evaluate", str(tmp_path / "three.npz"), "--dataset", "grid25", "--json", str(tmp_path / "m.json")]) == 0
    result = json.loads((tmp_path / "m.json").read_text())
    assert result["modes"] == 3 and result["high_quality"] == 1.0 and abs(result["kl"] - np.log(25 / 3)) < 1e-6
    np.savez(tmp_path / "far.npz", points=np.full((5, 2), 99.0))
    assert main(["evaluate", str(tmp_path / "far.npz"), "--dataset", "grid25", "--json", str(tmp_path / "f.json")]) == 0
    assert json.loads((tmp_path / "f.json").read_text())["kl"] is None  # inf (no high-quality sample) as JSON
    np.savez(tmp_path / "bad.npz", points=np.zeros((5, 3)))
    np.savez(tmp_path / "nan.npz", points=np.array([[0.0, np.nan]]))
    for name, message in (("bad.npz", "expected float points of shape (N, 2)"),
                          ("nan.npz", "1 of 1 points with NaN or infinite coordinates"),
                          ("m.json", "cannot read")):
        assert main(["evaluate", str(tmp_path / name), "--dataset", "ring8"]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_ema_trains_samples_and_reports_the_average(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "mlp-gan", "--dataset", "fashion-mnist", "--profile", "quick", "--steps", "6",
                 "--ema", "0.9", "--out", str(run)]) == 0
    assert json.loads((run / "config.json").read_text())["ema"] == 0.9
    G, _ = load(run)
    G_last, _ = load(run, averaged=False)
    assert not all(torch.equal(a, b) for a, b in zip(G.parameters(), G_last.parameters()))
    assert main(["sample", str(run), "--n", "3", "--out", str(tmp_path / "s.npz")]) == 0
    off = tmp_path / "off"
    assert main(["train", "mlp-gan", "--dataset", "fashion-mnist", "--profile", "quick", "--steps", "2",
                 "--ema", "0", "--out", str(off)]) == 0
    assert json.loads((off / "config.json").read_text())["ema"] is None
