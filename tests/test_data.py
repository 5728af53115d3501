"""Where dataset files come from, the shipped sample, checksums and batching."""
import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest
import torch
import torchvision

from gancourse import data
from gancourse.data import (SAMPLE_DIR, Batches, DataError, load_dataset, resolve_root, to_uint8,
                            to_unit_range, verify_files)
from tests.conftest import MIRROR, mirror_has


def test_root_resolution_order(monkeypatch, tmp_path):
    monkeypatch.delenv("GANCOURSE_DATA", raising=False)
    checkout = Path(__file__).resolve().parents[1]
    assert resolve_root() == (checkout / "data", "the project's data/ folder")
    monkeypatch.setenv("GANCOURSE_DATA", str(tmp_path / "env"))
    assert resolve_root() == (tmp_path / "env", "GANCOURSE_DATA")
    assert resolve_root(tmp_path / "arg") == (tmp_path / "arg", "the root argument (--data-root)")


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_offline_and_absent_falls_back_to_the_shipped_sample(tmp_path, capsys, name):
    images = load_dataset(name, "train", root=tmp_path)
    err = capsys.readouterr().err
    assert f"is not in {tmp_path}" in err and "this machine is offline" in err
    assert "shipped in" in err and "GANCOURSE_DATA" in err  # names the fallback and the fix
    assert images.images.shape == (5000, 1, 28, 28) and images.source == f"shipped sample {name}.npz"
    assert images.images.min() >= -1 and images.images.max() <= 1
    assert torch.bincount(images.labels).tolist() == [500] * 10  # stratified by class


def test_the_sample_is_small_and_documented():
    files = sorted((f for f in SAMPLE_DIR.iterdir() if f.name.endswith(".npz")), key=lambda f: f.name)
    assert [f.name for f in files] == ["fashion-mnist.npz", "mnist.npz"]
    assert sum(len(f.read_bytes()) for f in files) < 5e6
    readme = (SAMPLE_DIR / "README.md").read_text()
    assert "CC BY-SA 3.0" in readme and "MIT" in readme and "tools/make_sample.py" in readme


def test_env_var_root_is_used(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GANCOURSE_DATA", str(tmp_path))
    load_dataset("mnist", "test")
    assert f"is not in {tmp_path} (from GANCOURSE_DATA)" in capsys.readouterr().err


def test_a_failed_download_falls_back_and_says_why(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(data, "_online", lambda name: True)

    class Unreachable:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(torchvision.datasets, "MNIST", Unreachable)
    load_dataset("mnist", "train", root=tmp_path)
    assert "the download failed (Error downloading" in capsys.readouterr().err


def test_online_probes_each_mirror_on_the_port_of_its_scheme(monkeypatch):
    monkeypatch.delenv("GANCOURSE_OFFLINE")
    probed, answering = [], set()

    def create_connection(address, timeout):
        probed.append(address)
        assert timeout <= 5  # a short probe, never the OS default
        if address not in answering:
            raise OSError("unreachable")
        return socket.socket()

    monkeypatch.setattr(socket, "create_connection", create_connection)
    fashion = urlparse(torchvision.datasets.FashionMNIST.mirrors[0]).hostname
    answering.add((fashion, 80))  # Fashion-MNIST's only mirror is plain http
    assert data._online("FashionMNIST") and probed == [(fashion, 80)]
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors",
                        ["https://a.example/mnist/", "http://b.example/mnist/"])
    probed.clear()
    answering.add(("b.example", 80))  # the first mirror is down, the second answers
    assert data._online("MNIST") and probed == [("a.example", 443), ("b.example", 80)]
    probed.clear()
    answering.clear()
    assert not data._online("MNIST") and probed == [("a.example", 443), ("b.example", 80)]


def test_offline_switch_never_probes(monkeypatch):
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: pytest.fail("probed the network"))
    assert data._online("MNIST") is False  # GANCOURSE_OFFLINE=1 is set for every test


def test_missing_sample_offline_gives_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "SAMPLE_DIR", tmp_path / "no-sample")
    with pytest.raises(DataError, match="shipped sample .* is missing. Connect to the internet"):
        load_dataset("mnist", root=tmp_path)


def test_unknown_dataset_or_split():
    with pytest.raises(DataError, match="unknown dataset 'cifar10'; choose one of mnist, fashion-mnist"):
        load_dataset("cifar10")
    with pytest.raises(DataError, match="unknown split 'val'"):
        load_dataset("mnist", "val")


def _fake_root(tmp_path, image_bytes: bytes):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "t10k-images-idx3-ubyte").write_bytes(image_bytes)
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"\0" * 10_008)
    return raw


def test_truncated_file_is_reported_with_path_and_fix(tmp_path):
    raw = _fake_root(tmp_path, b"\0" * 1000)
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte is truncated \(1,000 bytes, "
                                        r"expected 7,840,016\). Delete .* re-download"):
        load_dataset("mnist", "test", root=tmp_path)
    assert raw.exists()  # never deleted behind the user's back


def test_corrupted_file_fails_its_checksum(tmp_path):
    _fake_root(tmp_path, b"\1" * 7_840_016)
    with pytest.raises(DataError, match="is corrupted \\(its SHA-256 does not match"):
        verify_files("mnist", tmp_path, "test")


@pytest.mark.skipif(not mirror_has("MNIST"), reason="needs the full MNIST in $GANCOURSE_DATA")
def test_full_mnist_from_the_mirror_and_a_corrupted_copy(tmp_path):
    test = load_dataset("mnist", "test")
    assert test.images.shape == (10000, 1, 28, 28) and test.labels.shape == (10000,)
    assert test.images.min() == -1 and test.images.max() == 1
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        shutil.copy(MIRROR / "MNIST" / "raw" / name, raw / name)
    blob = bytearray((raw / "t10k-images-idx3-ubyte").read_bytes())
    blob[5000] ^= 0xFF  # one flipped byte
    (raw / "t10k-images-idx3-ubyte").write_bytes(bytes(blob))
    with pytest.raises(DataError, match="corrupted"):
        load_dataset("mnist", "test", root=tmp_path)


def test_unit_range_round_trip():
    pixels = torch.arange(256, dtype=torch.uint8).view(1, 16, 16)
    scaled = to_unit_range(pixels)
    assert scaled.shape == (1, 1, 16, 16) and scaled.min() == -1 and scaled.max() == 1
    assert torch.equal(to_uint8(scaled), pixels)
    with pytest.raises(ValueError, match="expected uint8 images of shape"):
        to_unit_range(torch.zeros(2, 1, 28, 28))


def test_batches_cover_each_epoch_once_and_repeat_exactly():
    images = torch.arange(10, dtype=torch.float32).view(10, 1, 1, 1)
    batches = Batches(images, batch_size=5, seed=1)
    epoch = torch.cat([batches(0)[0], batches(1)[0]]).flatten()
    assert sorted(epoch.tolist()) == list(range(10))
    assert torch.equal(Batches(images, batch_size=5, seed=1)(1)[0], batches(1)[0])
    assert not torch.equal(batches(2)[0], batches(0)[0]) or not torch.equal(batches(3)[0], batches(1)[0])
    assert Batches(images, batch_size=64)(0)[0].shape[0] == 10  # a batch never exceeds the data
    with pytest.raises(ValueError, match=r"expected samples of shape \(N, ...\)"):
        Batches(torch.zeros(10))
