"""gancourse: the helper package of a hands-on course on Generative Adversarial Networks.

The ideas being taught live in the notebooks and in small modules they name; this package holds the
plumbing: data, models, losses, the training loop, plots, checkpoints and the CLI.
"""
from gancourse.config import PROFILES, TrainConfig, make_config
from gancourse.data import Batches, DataError, ImageData, load_dataset
from gancourse.device import get_device, pick_profile, seed_everything
from gancourse.folders import load_folder
from gancourse.losses import (discriminator_loss, generator_loss_minimax,
                              generator_loss_nonsaturating)
from gancourse.models import build_models
from gancourse.runs import load, sample
from gancourse.train import discriminator_step, generator_step, train_gan

__version__ = "0.1.0"

__all__ = [
    "PROFILES", "TrainConfig", "make_config", "Batches", "DataError", "ImageData", "load_dataset", "load_folder",
    "get_device", "pick_profile", "seed_everything", "discriminator_loss", "generator_loss_minimax",
    "generator_loss_nonsaturating", "build_models", "load", "sample", "discriminator_step",
    "generator_step", "train_gan",
]
