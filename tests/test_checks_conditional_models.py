"""Lecture 4's forward-pass checks: a conditional generator and a conditional discriminator."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gancourse import checks
from tests.check_answers import Wrong, assert_passes, assert_rejects


class CondG(nn.Module):
    """The exercise's __init__, with a forward chosen by ``variant``."""

    def __init__(self, variant="z first", latent_dim=100, num_classes=10, embed_dim=16):
        super().__init__()
        self.latent_dim, self.num_classes, self.variant = latent_dim, num_classes, variant
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.net = nn.Sequential(nn.Linear(latent_dim + embed_dim, 64), nn.LeakyReLU(0.2), nn.Linear(64, 784), nn.Tanh())

    def forward(self, z, labels):
        v, e = self.variant, self.embed(labels)
        if v == "z first":
            return self.net(torch.cat([z, e], dim=1)).view(-1, 1, 28, 28)
        if v == "label first":
            return self.net(torch.cat((e, z), 1)).reshape(len(z), 1, 28, 28)
        if v == "unflatten":
            return nn.Unflatten(1, (1, 28, 28))(self.net(torch.cat([z, e], -1)))
        if v == "ignores labels":
            return self.net(torch.cat([z, self.embed(torch.zeros_like(labels))], 1)).view(-1, 1, 28, 28)
        if v == "first label for all":
            return self.net(torch.cat([z, e[:1].expand(len(z), -1)], 1)).view(-1, 1, 28, 28)
        if v == "detached embedding":
            return self.net(torch.cat([z, e.detach()], 1)).view(-1, 1, 28, 28)
        if v == "no grad embedding":
            with torch.no_grad():
                e = self.embed(labels)
            return self.net(torch.cat([z, e], 1)).view(-1, 1, 28, 28)
        if v == "flat":
            return self.net(torch.cat([z, e], 1))
        if v == "28x28 no channel":
            return self.net(torch.cat([z, e], 1)).view(-1, 28, 28)
        if v == "batch mixed":
            return self.net(torch.cat([z, e.flip(0)], 1)).view(-1, 1, 28, 28)
        if v == "noise added":
            return self.net(torch.cat([z + 0.1 * torch.randn_like(z), e], 1)).view(-1, 1, 28, 28)
        if v == "float32 noise":
            return self.net(torch.cat([z, e + torch.zeros(e.shape)], 1)).view(-1, 1, 28, 28)
        if v == "in place":
            z.mul_(1.0).add_(0.0)
            z += 0.001
            return self.net(torch.cat([z, e], 1)).view(-1, 1, 28, 28)
        if v == "switches to eval":
            self.eval()
            return self.net(torch.cat([z, e], 1)).view(-1, 1, 28, 28)
        if v == "switches to training":
            self.train()
            return self.net(torch.cat([z, e], 1)).view(-1, 1, 28, 28)
        if v == "cpu embedding":
            return self.net(torch.cat([z, self.embed(labels.cpu()) + torch.zeros(1, device="cpu")], 1)).view(-1, 1, 28, 28)
        if v == "float32 out":
            return self.net(torch.cat([z, e], 1)).view(-1, 1, 28, 28).float()
        if v == "extra tanh":
            return torch.tanh(self.net(torch.cat([z, e], 1))).view(-1, 1, 28, 28)
        raise ValueError(v)


COND_G_WRONG = {
    "ignores labels": Wrong("ignores labels", "does not change when the labels change", "value"),
    "first label for all": Wrong("first label for all", "differs from the forward pass", "independent"),
    "embeddings of another sample": Wrong("batch mixed", "differs from the forward pass", "independent"),
    "detached embedding": Wrong("detached embedding", "embedding gets no gradient", "extreme"),
    "embedding under no_grad": Wrong("no grad embedding", "embedding gets no gradient", "extreme"),
    "flat output": Wrong("flat", "expected shape (5, 1, 28, 28)", "shapes"),
    "no channel dimension": Wrong("28x28 no channel", "expected shape (5, 1, 28, 28)", "shapes"),
    "extra noise": Wrong("noise added", "differs from the forward pass", "value"),
    "tanh twice": Wrong("extra tanh", "differs from the forward pass", "value"),
    "float32 tensor made inside": Wrong("float32 noise", "mixes devices", "device"),
    "float32 output": Wrong("float32 out", "fixed dtype", "device"),
    "changes z in place": Wrong("in place", "in place", "state"),
    "switches to eval mode": Wrong("switches to eval", "eval mode", "state"),
    "switches to training mode": Wrong("switches to training", "out of eval mode", "state"),
}
COND_G_RIGHT = ("z first", "label first", "unflatten")


@pytest.mark.parametrize("variant", COND_G_RIGHT)
def test_conditional_generator_accepts(variant, capsys):
    assert_passes(checks.check_conditional_generator, CondG(variant), capsys)


@pytest.mark.parametrize("case", list(COND_G_WRONG))
def test_conditional_generator_rejects(case, capsys):
    wrong = COND_G_WRONG[case]
    assert_rejects(checks.check_conditional_generator, wrong._replace(answer=CondG(wrong.answer)), capsys)


def test_conditional_generator_other_sizes(capsys):
    assert_passes(checks.check_conditional_generator, CondG(latent_dim=7, num_classes=3, embed_dim=5), capsys)


def test_conditional_generator_rejects_non_modules(capsys):
    assert_rejects(checks.check_conditional_generator, Wrong(lambda z, y: z, "pass an instance", "crash"), capsys)
    assert_rejects(checks.check_conditional_generator, Wrong(nn.Linear(3, 4), "keep the __init__", "crash"), capsys)


class CondD(nn.Module):
    def __init__(self, variant="image first", num_classes=10):
        super().__init__()
        self.variant = variant
        self.embed = nn.Embedding(num_classes, 28 * 28)
        self.net = nn.Sequential(nn.Conv2d(2, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, 16, 4, 2, 1), nn.LeakyReLU(0.2),
                                 nn.Flatten(), nn.Linear(16 * 7 * 7, 1))

    def forward(self, x, labels):
        v, m = self.variant, self.embed(labels).view(-1, 1, 28, 28)
        if v == "image first":
            return self.net(torch.cat([x, m], dim=1)).squeeze(1)
        if v == "label first":
            return self.net(torch.cat([m, x], 1)).view(-1)
        if v == "(B, 1)":
            return self.net(torch.cat([x, m], 1))
        if v == "sigmoid":
            return torch.sigmoid(self.net(torch.cat([x, m], 1))).squeeze(1)
        if v == "transposed map":
            return self.net(torch.cat([x, m.transpose(2, 3)], 1)).squeeze(1)
        if v == "ignores labels":
            return self.net(torch.cat([x, torch.zeros_like(x)], 1)).squeeze(1)
        if v == "detached":
            return self.net(torch.cat([x, m.detach()], 1)).squeeze(1)
        if v == "(B, 1, 1)":
            return self.net(torch.cat([x, m], 1)).unsqueeze(1)
        if v == "mean over batch":
            return self.net(torch.cat([x, m], 1)).mean()
        if v == "labels flipped":
            return self.net(torch.cat([x, m.flip(0)], 1)).squeeze(1)
        if v == "first label for all":
            return self.net(torch.cat([x, m[:1].expand_as(x)], 1)).squeeze(1)
        if v == "in place":
            x.mul_(1.0).add_(0.001)
            return self.net(torch.cat([x, m], 1)).squeeze(1)
        if v == "eval":
            self.eval()
            return self.net(torch.cat([x, m], 1)).squeeze(1)
        if v == "cpu map":
            return self.net(torch.cat([x, m + torch.zeros(1, 1, 28, 28)], 1)).squeeze(1)
        if v == "float32 map":
            return self.net(torch.cat([x, m], 1)).squeeze(1).float()
        raise ValueError(v)


COND_D_WRONG = {
    "sigmoid at the end": Wrong("sigmoid", "return logits", "value"),
    "label map transposed": Wrong("transposed map", "differs from the forward pass", "value"),
    "ignores labels": Wrong("ignores labels", "does not change when the labels change", "value"),
    "detached label map": Wrong("detached", "embedding gets no gradient", "extreme"),
    "(B, 1, 1)": Wrong("(B, 1, 1)", "expected shape (5,)", "shapes"),
    "averaged over the batch": Wrong("mean over batch", "expected shape (5,)", "shapes"),
    "another sample's label": Wrong("labels flipped", "differs from the forward pass", "independent"),
    "the first label for all": Wrong("first label for all", "differs from the forward pass", "independent"),
    "changes x in place": Wrong("in place", "in place", "state"),
    "switches to eval": Wrong("eval", "eval mode", "state"),
    "a map made on the cpu": Wrong("cpu map", "mixes devices", "device"),
    "float32 logits": Wrong("float32 map", "fixed dtype", "device"),
}
COND_D_RIGHT = ("image first", "label first", "(B, 1)")


@pytest.mark.parametrize("variant", COND_D_RIGHT)
def test_conditional_discriminator_accepts(variant, capsys):
    assert_passes(checks.check_conditional_discriminator, CondD(variant), capsys)


@pytest.mark.parametrize("case", list(COND_D_WRONG))
def test_conditional_discriminator_rejects(case, capsys):
    wrong = COND_D_WRONG[case]
    assert_rejects(checks.check_conditional_discriminator, wrong._replace(answer=CondD(wrong.answer)), capsys)


def test_conditional_discriminator_needs_the_given_embedding(capsys):
    D = CondD()
    D.embed = nn.Embedding(10, 50)
    assert_rejects(checks.check_conditional_discriminator, Wrong(D, "keep the given nn.Embedding", "crash"), capsys)


def test_package_models_forward_like_the_exercise():
    """The package's conditional D stacks the label map after the image, like the exercise."""
    from gancourse.models.conditional import ConditionalDiscriminator
    D = ConditionalDiscriminator(width=16).eval()
    x, y = torch.rand(3, 1, 28, 28), torch.tensor([0, 4, 9])
    assert D(x, y).shape == (3,)
    assert F.binary_cross_entropy_with_logits(D(x, y), torch.ones(3)).isfinite()
