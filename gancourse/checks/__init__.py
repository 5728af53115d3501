"""Students' self-checks: stand-in networks and random inputs, no training; each runs in well under a second.

Every ``check_*`` prints ``[PASS] ...`` or ``[FAIL] <what is wrong> - hint: ...`` and returns a
:class:`CheckResult`, true when it passed, which shows nothing more in a notebook. Code still raising
its exercise's ``NotImplementedError`` fails and re-raises it, so running an untouched exercise
notebook stops at the first exercise.

The checks test behaviour, not how the code is written (``_loss``, ``_modules``): values on fresh
random inputs of several shapes, gradients at extreme logits against the reference's autograd
gradient, what ``forward`` really runs, state before and after, float64 and another device. Where a
wrong answer is a common one (sign flipped, labels swapped, sum instead of mean, ...), the message
names it. tests/test_checks*.py feed each check a catalogue of wrong and of correct answers.
"""
from gancourse.checks._base import CheckResult
from gancourse.checks.conditional import (check_acgan_losses, check_cgan_discriminator_loss,
                                         check_mismatched_labels)
from gancourse.checks.conditional_models import check_conditional_discriminator, check_conditional_generator
from gancourse.checks.cyclegan import check_cycle_loss, check_cyclegan_generator_loss, check_image_pool
from gancourse.checks.dcgan import check_dcgan_discriminator, check_dcgan_init, check_upsample_block
from gancourse.checks.imbalance import check_bagan_discriminator_loss, check_class_gaussians, check_smote
from gancourse.checks.gain import check_gain_discriminator_loss, check_gain_generator_loss, check_gain_hint
from gancourse.checks.gan import (check_discriminator_loss, check_discriminator_step,
                                 check_generator_loss_nonsaturating, check_mlp_generator)
from gancourse.checks.mode_collapse import check_minibatch_std, check_mode_coverage, check_pack
from gancourse.checks.metrics import check_feature_statistics, check_frechet_distance, check_parzen_log_likelihood
from gancourse.checks.pix2pix import check_pix2pix_generator_loss, check_receptive_field, check_unet_skip_block
from gancourse.checks.saturation import (check_curve_diagnosis, check_k_step_training, check_saturation_gradients,
                                        check_saturation_logit)

from gancourse.checks.vae import check_ascent_step, check_laplacian_variance, check_vae_loss
from gancourse.checks.zoo import check_gradient_penalty, check_hinge_discriminator_loss, check_lsgan_losses

__all__ = ["check_gradient_penalty", "check_hinge_discriminator_loss", "check_lsgan_losses", "CheckResult", "check_acgan_losses", "check_cgan_discriminator_loss", "check_conditional_discriminator",
           "check_conditional_generator", "check_curve_diagnosis", "check_dcgan_discriminator", "check_dcgan_init",
           "check_discriminator_loss", "check_discriminator_step", "check_feature_statistics",
           "check_frechet_distance", "check_gain_discriminator_loss", "check_gain_generator_loss",
           "check_gain_hint", "check_generator_loss_nonsaturating", "check_k_step_training",
           "check_minibatch_std", "check_mismatched_labels", "check_mlp_generator", "check_mode_coverage", "check_pack", "check_parzen_log_likelihood",
           "check_pix2pix_generator_loss", "check_receptive_field", "check_saturation_gradients",
           "check_saturation_logit", "check_unet_skip_block", "check_upsample_block", "check_ascent_step",
           "check_laplacian_variance", "check_vae_loss", "check_cycle_loss", "check_cyclegan_generator_loss",
           "check_image_pool", "check_smote", "check_class_gaussians", "check_bagan_discriminator_loss"]
