"""A small CNN trained on the real training split: judge of generated samples (accuracy, features).

Inception weights cannot be assumed (offline machines), so the course measures samples in the
features of a classifier of its own domain. It is trained once per dataset and cached.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gancourse.checkpoint import save_checkpoint
from gancourse.config import make_config
from gancourse.data import Batches, load_dataset
from gancourse.paths import CACHE_DIR
from gancourse.run import run_loop


class DomainClassifier(nn.Module):
    """conv 32 -> pool -> conv 64 -> pool -> 128 features -> 10 class logits, for (B, 1, 28, 28)."""

    num_features = 128  # read by torchmetrics' FID/KID

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 7, 7)
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),  # (B, 128)
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(128, 10))

    def features(self, x: Tensor) -> Tensor:
        """The 128 penultimate features, the space FID and KID are measured in."""
        return self.trunk(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.trunk(x))


@torch.no_grad()
def predict(clf: nn.Module, images: Tensor, batch_size: int = 1000) -> Tensor:
    """Class probabilities (N, 10) for images in [-1, 1], in batches."""
    clf.eval()
    device = next(clf.parameters()).device
    return torch.cat([F.softmax(clf(images[i:i + batch_size].to(device)), dim=1).cpu()
                      for i in range(0, len(images), batch_size)])


def load_classifier(dataset: str = "mnist", profile: str = "cpu", *, root=None,
                    cache_dir: str | os.PathLike | None = None, progress: bool = True) -> DomainClassifier:
    """The cached classifier of ``dataset``, trained first if needed (about 40 s on 2 cores).

    Cached in ``data/cache/`` in a checkout, the user cache folder when installed
    (:mod:`gancourse.paths`).

    The profile's "classifier" recipe sets its training steps: ``quick`` gives a weak judge in
    seconds, for tests. Prints the test accuracy when it trains. ``root``: the dataset root, as
    for :func:`gancourse.data.load_dataset`.
    """
    cfg = make_config("classifier", profile)
    data = load_dataset(dataset, "train", root)
    origin = "sample" if data.source.startswith("shipped") else "full"
    path = Path(cache_dir or CACHE_DIR) / f"classifier_{data.name}_{origin}_{cfg.num_steps}.pt"
    clf = DomainClassifier()
    if path.is_file():
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            clf.load_state_dict(state["model"])
            return clf.eval()
        except Exception as err:  # noqa: BLE001 - truncated or foreign file: rebuild it
            print(f"warning: the cached classifier {path.name} is damaged ({type(err).__name__}); "
                  f"training it again", file=sys.stderr)
            clf = DomainClassifier()
    batches = Batches(data.images, data.labels, batch_size=cfg.batch_size, seed=cfg.seed)
    opt = torch.optim.Adam(clf.parameters(), lr=cfg.lr_d)
    clf.train()

    def step(i: int) -> dict:
        x, y = batches(i)
        loss = F.cross_entropy(clf(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    # the same run bookkeeping as a GAN's: budget, progress, Ctrl-C; no run folder (the cache is the result)
    history = run_loop(step, cfg, modules={"classifier": clf}, optimizers={"opt": opt}, progress=progress)
    if history.interrupted:
        raise KeyboardInterrupt(f"the {dataset} classifier was interrupted before it finished; nothing was cached")
    test = load_dataset(dataset, "test", root)
    accuracy = (predict(clf, test.images).argmax(1) == test.labels).float().mean().item()
    print(f"{dataset} classifier: {accuracy:.2%} test accuracy after {cfg.num_steps} steps "
          f"(cached in {path.name})")
    save_checkpoint(path, model=clf.state_dict(), test_accuracy=accuracy)  # atomic: never half a file
    return clf.eval()
