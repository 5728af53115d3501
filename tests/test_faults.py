"""Promises under faults: Ctrl-C, concurrent runs, bad settings, NaN, hostile files, memory."""
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from gancourse.checkpoint import CheckpointError, load_checkpoint, lock_run_dir, save_checkpoint
from gancourse.cli import main
from gancourse.config import TrainConfig, make_config
from gancourse.device import seed_everything
from gancourse.models import build_models
from gancourse.train import TrainingDiverged, train_gan

QUICK = ["--dataset", "mnist", "--profile", "quick"]


def one_line_error(capsys, *fragments):
    err = capsys.readouterr().err  # warnings (e.g. the shipped sample's) may come first
    assert err.count("gancourse: error: ") == 1 and err.endswith("\n"), err
    err = err.splitlines()[-1] + "\n"
    assert err.startswith("gancourse: error: ") and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished quick MLP GAN run (30 steps)."""
    run = tmp_path_factory.mktemp("runs") / "mlp"
    assert main(["train", "mlp-gan", *QUICK, "--out", str(run)]) == 0
    return run


# --- Ctrl-C lands mid-step in a real process; the resumed run is bit-identical -----------------
def _train_process(out, env):
    return subprocess.Popen([sys.executable, "-m", "gancourse", "train", "dcgan", *QUICK, "--steps", "300",
                             "--seed", "3", "--out", str(out)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _state(run):
    state = load_checkpoint(run)
    return state["step"], state["G"], state["D"], state["opt_g"]["state"], state["opt_d"]["state"]


def test_ctrl_c_mid_step_then_resume_is_bit_identical(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}  # same arithmetic everywhere
    full = _train_process(tmp_path / "full", env)
    assert full.wait(timeout=300) == 0, full.stderr.read()
    cut, rng = tmp_path / "cut", random.Random(0)
    for presses in (1, 2):  # a second Ctrl-C stops at once: nothing of the half step is saved
        proc = _train_process(cut, env)
        if presses == 1:  # a new run: training starts once its config is written
            while not (cut / "config.json").exists() and proc.poll() is None:
                time.sleep(0.05)
        else:  # a resumed run says so when training starts
            while not proc.stdout.readline().startswith("resuming from step"):
                assert proc.poll() is None, proc.stderr.read()
        time.sleep(rng.uniform(0.5, 1.5))
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.01)
        code = proc.wait(timeout=120)
        assert code == 130, proc.stderr.read()  # saved and stopped, or stopped at once: not "finished"
        assert 0 < _state(cut)[0] < 300
    proc = _train_process(cut, env)
    assert proc.wait(timeout=300) == 0
    (step_a, *a), (step_b, *b) = _state(tmp_path / "full"), _state(cut)
    assert step_a == step_b == 300
    for dict_a, dict_b in zip(a, b):
        for key in dict_a:
            va, vb = dict_a[key], dict_b[key]
            for x, y in (zip(va.values(), vb.values()) if isinstance(va, dict) else [(va, vb)]):
                assert torch.equal(torch.as_tensor(x), torch.as_tensor(y)), key


def test_a_stop_signal_saves_like_ctrl_c(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "gancourse", "train", "dcgan", *QUICK, "--steps", "300",
                             "--out", str(run)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while not (run / "config.json").exists() and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 130
    assert "stop signal: stopping after this step" in proc.stderr.read()  # however the signal fell
    assert 0 < load_checkpoint(run)["step"] < 300


# --- budgets, settings, divergence --------------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_minutes_must_be_finite(capsys, value, tmp_path):
    assert main(["train", "mlp-gan", *QUICK, f"--minutes={value}", "--out", str(tmp_path)]) == 2
    one_line_error(capsys, "expected a positive number")
    with pytest.raises(ValueError, match="positive, finite budget"):
        make_config("mlp-gan", "quick", minutes=float(value))


@pytest.mark.parametrize("flag,value,field", [("--dataset", "fashion-mnist", "dataset"), ("--seed", "1", "seed")])
def test_resuming_with_other_settings_is_refused_and_keeps_the_config(tmp_path, capsys, flag, value, field):
    run = tmp_path / "run"
    assert main(["train", "mlp-gan", *QUICK, "--steps", "2", "--out", str(run)]) == 0
    config = (run / "config.json").read_text()
    argv = ["train", "mlp-gan", *QUICK, "--steps", "4", "--out", str(run), flag, value]  # the later flag wins
    capsys.readouterr()
    assert main(argv) == 2
    one_line_error(capsys, "holds a run with other settings", f"{field}=", "another run directory")
    assert (run / "config.json").read_text() == config
    assert load_checkpoint(run)["step"] == 2
    # a longer budget for the same settings is a resume, not another run
    assert main(["train", "mlp-gan", *QUICK, "--steps", "4", "--out", str(run)]) == 0
    assert load_checkpoint(run)["step"] == 4


def _models():
    seed_everything(0)
    return build_models("mlp-gan")


def test_a_nan_gradient_stops_before_the_update(tmp_path, tiny_data):
    G, D = _models()

    def nan_gradient(fake_logits):  # a finite value whose gradient is NaN: sqrt at 0
        return fake_logits.mean() * 0 + torch.sqrt(fake_logits - fake_logits).mean()

    before = [p.detach().clone() for p in G.parameters()]
    cfg = TrainConfig(num_steps=5, batch_size=16, checkpoint_every=100)
    with pytest.raises(TrainingDiverged, match="a gradient of the generator became non-finite .* at step 1.*"
                                               "no checkpoint was written"):
        train_gan(G, D, tiny_data, cfg, g_loss=nan_gradient, run_dir=tmp_path, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))


def test_a_nan_discriminator_gradient_leaves_d_as_it_was(tiny_data):
    G, D = _models()

    def nan_gradient(real_logits, fake_logits):
        return (real_logits - real_logits).sqrt().mean() + fake_logits.mean() * 0

    before = [p.detach().clone() for p in D.parameters()]
    with pytest.raises(TrainingDiverged, match="a gradient of the discriminator became non-finite"):
        train_gan(G, D, tiny_data, TrainConfig(num_steps=3, batch_size=16), d_loss=nan_gradient, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, D.parameters()))


# --- the run directory: one writer, unpredictable temporary files ------------------------------
def test_a_second_training_process_on_one_directory_is_refused(tmp_path, capsys):
    with lock_run_dir(tmp_path):  # as if another process were training there
        assert main(["train", "mlp-gan", *QUICK, "--steps", "2", "--out", str(tmp_path)]) == 2
    one_line_error(capsys, "another training process is writing")
    assert main(["train", "mlp-gan", *QUICK, "--steps", "2", "--out", str(tmp_path)]) == 0


def test_a_link_planted_at_the_old_temporary_name_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt.tmp").symlink_to(victim)
    save_checkpoint(run / "checkpoint.pt", G={}, cfg={})
    assert victim.read_text() == "keep me"
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.pt", "checkpoint.pt.tmp"]


def test_a_checkpoint_lacking_rng_or_history_is_refused(tmp_path, tiny_data, capsys):
    G, D = _models()
    cfg = TrainConfig(num_steps=2, batch_size=16)
    train_gan(G, D, tiny_data, cfg, run_dir=tmp_path, progress=False)
    state = load_checkpoint(tmp_path)
    del state["rng"], state["history"]
    save_checkpoint(tmp_path / "checkpoint.pt", **state)
    with pytest.raises(CheckpointError, match="cannot be resumed: it lacks history, rng"):
        train_gan(*_models(), tiny_data, cfg, run_dir=tmp_path, progress=False)


def test_models_that_do_not_fit_are_named_in_full(tmp_path, tiny_data):
    G, D = _models()
    cfg = TrainConfig(num_steps=2, batch_size=16)
    train_gan(G, D, tiny_data, cfg, run_dir=tmp_path, progress=False)
    seed_everything(0)
    G2, D2 = build_models("mlp-gan", latent_dim=50)
    with pytest.raises(CheckpointError) as info:
        train_gan(G2, D2, tiny_data, cfg, run_dir=tmp_path, progress=False)
    message = str(info.value)
    assert "size mismatch for" in message and "resume=False" not in message and ":." not in message


# --- lost work ----------------------------------------------------------------------------------
def _gif_steps(path):
    from PIL import Image
    with Image.open(path) as gif:
        return gif.n_frames


def test_progress_gif_keeps_every_frame_across_resumes(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "mlp-gan", *QUICK, "--steps", "20", "--out", str(run)]) == 0
    assert _gif_steps(run / "progress.gif") == 2  # steps 10 and 20
    assert main(["train", "mlp-gan", *QUICK, "--steps", "30", "--out", str(run)]) == 0
    assert _gif_steps(run / "progress.gif") == 3
    assert main(["train", "mlp-gan", *QUICK, "--steps", "30", "--out", str(run)]) == 0  # finished: no-op
    assert _gif_steps(run / "progress.gif") == 3


def test_sample_reports_the_file_it_wrote(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sample", str(run_dir), "--n", "3", "--out", "runs"]) == 0
    assert "wrote runs.npz:" in capsys.readouterr().out and (tmp_path / "runs.npz").is_file()


@pytest.mark.parametrize("argv", [
    ["train", "mlp-gan", *QUICK, "--out", ""],
    ["sample", "RUN", "--n", "2", "--out", " "],
])
def test_an_empty_out_is_refused(run_dir, capsys, argv):
    assert main([str(run_dir) if a == "RUN" else a for a in argv]) == 2
    one_line_error(capsys, "expected a path, got an empty string")


# --- bad input: one line, exit code 2 ------------------------------------------------------------
def test_outputs_that_cannot_be_written(run_dir, tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    cases = [
        (["train", "mlp-gan", *QUICK, "--out", str(a_file)], "is an existing file, not a folder"),
        (["train", "mlp-gan", *QUICK, "--out", str(a_file / "run")], "is an existing file, not a folder"),
        (["sample", str(run_dir), "--n", "2", "--out", str(a_file / "s.npz")], "is an existing file"),
        (["sample", str(run_dir), "--n", "2", "--out", str(tmp_path)], "is a directory"),
        (["evaluate", str(run_dir), *QUICK, "--n", "60", "--json", str(a_file / "m.json")], "is an existing file"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        one_line_error(capsys, message)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_out_is_refused(tmp_path, capsys):
    tmp_path.chmod(0o500)
    try:
        assert main(["train", "mlp-gan", *QUICK, "--out", str(tmp_path / "run")]) == 2
    finally:
        tmp_path.chmod(0o700)
    one_line_error(capsys, "cannot write into")


def test_too_many_samples_are_refused_at_once(run_dir, capsys):
    assert main(["sample", str(run_dir), "--n", "100000000000", "--out", "x.npz"]) == 2
    one_line_error(capsys, "more than 1,000,000 samples")


def _fail_if_called(*args, **kwargs):
    raise AssertionError("metrics ran before the input was validated")


@pytest.mark.parametrize("arrays,message", [
    ({"images": np.zeros((0, 28, 28), np.uint8)}, "0 images, but evaluate needs at least 50"),
    ({"images": np.zeros((1, 28, 28), np.uint8)}, "1 images, but evaluate needs at least 50"),
    ({"images": np.zeros((60, 28, 28), np.uint8), "labels": np.array(["a"] * 60)}, "must be integers"),
    ({"images": np.zeros((60, 28, 28), np.uint8), "labels": np.array(3)}, "must be integers of shape (N,)"),
    ({"images": np.zeros((60, 28, 28), np.uint8), "labels": np.full(60, 12)}, "must be 0..9"),
    ({"images": np.zeros((60, 28, 28), np.uint8), "labels": np.arange(59) % 10}, "60 images but 59 labels"),
    ({"images": np.full((60, 28, 28), np.nan, np.float32)}, "NaN or infinite pixels"),
    ({"images": np.zeros((60, 28, 28), np.complex64)}, "expected uint8"),
])
def test_evaluate_validates_files_before_any_metric_runs(tmp_path, capsys, monkeypatch, arrays, message):
    monkeypatch.setattr("gancourse.metrics.evaluate", _fail_if_called)
    np.savez(tmp_path / "s.npz", **arrays)
    assert main(["evaluate", str(tmp_path / "s.npz"), *QUICK]) == 2
    one_line_error(capsys, message)


def test_files_that_are_not_npz_get_a_plain_message(tmp_path, capsys):
    (tmp_path / "noise.npz").write_bytes(os.urandom(4000))
    np.save(tmp_path / "one.npy", np.zeros((60, 28, 28), np.uint8))
    for name, message in (("noise.npz", "not a zip archive of arrays"), ("one.npy", "it holds a single array")):
        assert main(["evaluate", str(tmp_path / name), *QUICK]) == 2
        err = one_line_error(capsys, message)
        assert "allow_pickle" not in err


def test_evaluate_needs_enough_samples_and_memory(run_dir, capsys, monkeypatch):
    assert main(["evaluate", str(run_dir), *QUICK, "--n", "1"]) == 2
    one_line_error(capsys, "--n: 1 images, but evaluate needs at least 50")
    monkeypatch.setattr("gancourse.cli_files.available_memory", lambda: 10**8)
    assert main(["evaluate", str(run_dir), *QUICK, "--n", "300000"]) == 2
    one_line_error(capsys, "can evaluate at most about 7,971 at once")


def test_a_generator_that_outputs_nan_is_refused(run_dir, tmp_path, capsys):
    state = load_checkpoint(run_dir)
    state["G"] = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in state["G"].items()}
    broken = tmp_path / "broken"
    save_checkpoint(broken / "checkpoint.pt", **state)
    assert main(["sample", str(broken), "--n", "4", "--out", str(tmp_path / "s.npz")]) == 2
    one_line_error(capsys, "NaN or infinite pixels", "Retrain it")
    assert not (tmp_path / "s.npz").exists()
    assert main(["evaluate", str(broken), *QUICK, "--n", "60"]) == 2
    one_line_error(capsys, "NaN or infinite pixels")


def test_messages_name_the_real_command_and_the_missing_root(tmp_path, capsys):
    assert main([]) == 2
    err = one_line_error(capsys, "(see: python -m gancourse --help)")
    assert "gancourse gancourse" not in err
    assert main(["train", "mlp-gan", *QUICK, "--data-root", str(tmp_path / "nowhere"), "--out",
                 str(tmp_path / "run")]) == 2
    one_line_error(capsys, "nowhere (from the root argument (--data-root)) is not a folder")


def test_a_missing_relative_root_names_the_folder_it_was_read_from(tmp_path, monkeypatch):
    from gancourse.data import DataError, load_dataset
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GANCOURSE_DATA", "../elsewhere")
    with pytest.raises(DataError, match=f"from GANCOURSE_DATA, read from the current folder {tmp_path}"):
        load_dataset("mnist", "train")


# --- caches and datasets that are damaged ---------------------------------------------------------
def test_a_truncated_classifier_cache_is_rebuilt(tmp_path, capsys):
    from gancourse.classifier import load_classifier
    load_classifier("mnist", "quick", cache_dir=tmp_path, progress=False)
    (path,) = tmp_path.glob("classifier_*.pt")
    path.write_bytes(path.read_bytes()[:300])
    capsys.readouterr()
    clf = load_classifier("mnist", "quick", cache_dir=tmp_path, progress=False)
    assert "is damaged (" in capsys.readouterr().err
    assert clf(torch.zeros(1, 1, 28, 28)).shape == (1, 10)
    load_classifier("mnist", "quick", cache_dir=tmp_path, progress=False)
    assert "damaged" not in capsys.readouterr().err
    assert not list(tmp_path.glob(".*tmp"))


def test_an_unreadable_dataset_file_is_named(tmp_path, monkeypatch):
    from gancourse import data
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, size in data._IDX_SIZES.items():
        with open(raw / name, "wb") as f:
            f.truncate(size)

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(data, "sha256_of", denied)
    with pytest.raises(data.DataError, match="cannot be read .*Permission denied.*fix its permissions"):
        data.load_dataset("mnist", "test", root=tmp_path)


def test_a_damaged_shipped_sample_is_named(tmp_path, monkeypatch):
    from gancourse import data
    sample = data.sample_path("mnist")
    (tmp_path / sample.name).write_bytes(sample.read_bytes()[:5000])
    monkeypatch.setattr(data, "sample_path", lambda key: tmp_path / f"{key}.npz")
    with pytest.raises(data.DataError, match="shipped sample .* is damaged"):
        data.load_dataset("mnist", "train", root=tmp_path)
    np.savez(tmp_path / "mnist.npz", train_images=np.zeros((5, 28)), train_labels=np.zeros(5))
    with pytest.raises(data.DataError, match="is damaged .*unexpected arrays"):
        data.load_dataset("mnist", "train", root=tmp_path)


# --- metrics stream their work --------------------------------------------------------------------
def test_parzen_in_small_batches_equals_one_batch():
    from gancourse.metrics import parzen_log_likelihood
    gen = torch.Generator().manual_seed(0)
    samples, x = torch.rand(300, 20, generator=gen), torch.rand(40, 20, generator=gen)
    whole = parzen_log_likelihood(samples, x, [0.1, 0.3, 1.0], batch_size=40)
    assert torch.allclose(parzen_log_likelihood(samples, x, [0.1, 0.3, 1.0], batch_size=7), whole)
    assert torch.allclose(parzen_log_likelihood(samples, x, [0.1, 0.3, 1.0]), whole)


def test_json_results_are_written_whole(run_dir, tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["evaluate", str(run_dir), *QUICK, "--n", "60", "--json", str(out)]) == 0
    assert "fid" in json.loads((tmp_path / "m.json").read_text())


# --- found by probing the CLI -----------------------------------------------------------------------
def test_resuming_on_other_data_is_refused(tmp_path, tiny_data):
    from gancourse.data import ImageData
    G, D = _models()
    cfg = TrainConfig(num_steps=2, batch_size=16)
    train_gan(G, D, tiny_data, cfg, run_dir=tmp_path, progress=False)
    fewer = ImageData(tiny_data.images[:80], tiny_data.labels[:80], "tiny", "train", "fewer", tiny_data.classes)
    with pytest.raises(CheckpointError, match="trained on other data: train_images=96 \\(now: 80\\)"):
        train_gan(*_models(), fewer, TrainConfig(num_steps=4, batch_size=16), run_dir=tmp_path, progress=False)


def test_non_finite_weights_never_replace_a_checkpoint(tmp_path, tiny_data):
    from gancourse.train import generator_step
    G, D = _models()

    def poison_at_3(G, D, batch, opt_g, g_loss):
        row = generator_step(G, D, batch, opt_g, g_loss)
        if len(poison_at_3.calls) == 3:  # after the G update of step 4, which is then saved
            with torch.no_grad():
                next(G.parameters()).fill_(float("nan"))
        poison_at_3.calls.append(1)
        return row

    poison_at_3.calls = []
    with pytest.raises(TrainingDiverged, match="the weights of G became non-finite"):
        train_gan(G, D, tiny_data, TrainConfig(num_steps=6, batch_size=16, checkpoint_every=2), g_step=poison_at_3,
                  run_dir=tmp_path, progress=False)
    state = load_checkpoint(tmp_path)
    assert state["step"] == 2 and all(torch.isfinite(v).all() for v in state["G"].values())


def test_a_full_disk_is_one_line(run_dir, tmp_path, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:671] . unexpected pos 1370304 vs 1370192")

    monkeypatch.setattr(torch, "save", full)
    assert main(["train", "mlp-gan", *QUICK, "--steps", "2", "--out", str(tmp_path / "run")]) == 2
    one_line_error(capsys, "the disk is full")
    assert not [p for p in (tmp_path / "run").iterdir() if p.name.startswith(".tmp-")]


def test_evaluate_files_of_some_classes_and_labels_of_the_wrong_kind(tmp_path, capsys, monkeypatch):
    from gancourse.data import load_dataset, to_uint8
    test = load_dataset("mnist", "test")
    keep = (test.labels == 3) | (test.labels == 7)
    np.savez(tmp_path / "37.npz", images=to_uint8(test.images[keep][:120]).numpy(), labels=test.labels[keep][:120].numpy())
    assert main(["evaluate", str(tmp_path / "37.npz"), *QUICK, "--json", str(tmp_path / "m.json")]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["class_spread"] > 0
    monkeypatch.setattr("gancourse.metrics.evaluate", _fail_if_called)
    images = np.zeros((60, 28, 28), np.uint8)
    for name, arrays, message in (
            ("bool", {"images": images, "labels": np.ones(60, bool)}, "must be integers"),
            ("unit", {"images": np.full((60, 28, 28), 0.5, np.float32)}, "lie in [0, 1]"),
            ("objects", {"images": np.array([images[0]] * 60, dtype=object)}, "holds Python objects"),
            ("nan", {"images": np.full((60, 28, 28), np.nan, np.float32)}, "replace or drop those images")):
        np.savez(tmp_path / f"{name}.npz", **arrays)
        assert main(["evaluate", str(tmp_path / f"{name}.npz"), *QUICK]) == 2
        one_line_error(capsys, message)


def test_outputs_never_overwrite_inputs_or_run_files(run_dir, tmp_path, capsys):
    from gancourse.cli_files import UsageError, output_file
    existing = tmp_path / "in.npz"
    existing.write_bytes(b"x")
    with pytest.raises(UsageError, match="is this command's input"):
        output_file(existing, ".npz", protect=(existing,))
    config = (run_dir / "config.json").read_text()
    assert main(["evaluate", str(run_dir), *QUICK, "--n", "60", "--json", str(run_dir / "config.json")]) == 2
    one_line_error(capsys, "belongs to the run in")
    assert (run_dir / "config.json").read_text() == config


@pytest.mark.parametrize("argv,env,message", [
    (["train", "mlp-gan", *QUICK, "--seed", "-1", "--out", "r"], {}, "expected a whole number from 0 to 2**32 - 1"),
    (["train", "mlp-gan", *QUICK, "--task", "lowres", "--out", "r"], {}, "--task is for translating models (pix2pix, cyclegan)"),
    (["train", "mlp-gan", *QUICK, "--steps", "1e3", "--out", "r"], {}, "expected a positive whole number"),
    (["train", "mlp-gan", "--dataset", "mnist", "--out", "r"], {"GANCOURSE_PROFILE": "bogus"},
     "unknown profile 'bogus' (from GANCOURSE_PROFILE)"),
])
def test_messages_name_the_flag_or_variable(tmp_path, capsys, monkeypatch, argv, env, message):
    monkeypatch.chdir(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(argv) == 2
    one_line_error(capsys, message)
    assert not (tmp_path / "r").exists()  # a refused command leaves no empty run directory


def test_written_files_follow_the_umask_and_any_name_fits(run_dir, tmp_path):
    old = os.umask(0o022)
    try:
        long_name = tmp_path / ("b" * 250)
        assert main(["sample", str(run_dir), "--n", "2", "--out", str(long_name)]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / ("b" * 250 + ".npz")).stat().st_mode & 0o777 == 0o644


def test_python_api_inputs_are_checked(tmp_path, tiny_data):
    from gancourse.runs import sample
    torch.save({"G": {}, "cfg": [1, 2]}, tmp_path / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="not a gancourse checkpoint"):
        load_checkpoint(tmp_path)
    with pytest.raises(ValueError, match="lr_d must be a positive, finite learning rate"):
        TrainConfig(lr_d=float("nan"))
    with pytest.raises(ValueError, match="expected float images in \\[-1, 1\\], got torch.uint8"):
        train_gan(*_models(), torch.zeros(8, 1, 28, 28, dtype=torch.uint8), TrainConfig(num_steps=1), progress=False)
    seed_everything(0)
    G, _ = build_models("cgan", width=16)
    assert sample(G, 2, labels=[1, 3]).shape == (2, 1, 28, 28)
