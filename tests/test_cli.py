"""The CLI contract: train, sample, --help, and one-line errors with exit code 2."""
import subprocess
import sys

import numpy as np
import pytest

from gancourse.cli import main


def test_help_on_every_command():
    for argv in (["--help"], ["train", "--help"], ["sample", "--help"]):
        out = subprocess.run([sys.executable, "-m", "gancourse", *argv], capture_output=True, text=True)
        assert out.returncode == 0 and "usage:" in out.stdout


@pytest.mark.parametrize("argv,message", [
    (["train", "stylegan", "--dataset", "mnist", "--out", "x"], "invalid choice: 'stylegan' (choose from 'mlp-gan', 'dcgan', 'cgan', 'acgan')"),
    (["train", "dcgan", "--dataset", "cifar", "--out", "x"], "invalid choice: 'cifar' (choose from 'mnist', 'fashion-mnist')"),
    (["train", "dcgan", "--dataset", "mnist", "--steps", "0", "--out", "x"], "expected a positive number, got '0'"),
    (["train", "dcgan", "--dataset", "mnist", "--minutes", "-1", "--out", "x"], "expected a positive number, got '-1'"),
    (["train", "dcgan", "--dataset", "mnist", "--steps", "2", "--minutes", "1", "--out", "x"], "not allowed with argument"),
    (["sample", "does-not-exist", "--n", "4", "--out", "x.npz"], "no checkpoint at does-not-exist/checkpoint.pt"),
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


@pytest.mark.parametrize("model", ["mlp-gan", "dcgan"])
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
