import pytest
import torch
from torch import nn

from gancourse.models import build_models
from gancourse.models.mlp import MLPGenerator


@pytest.mark.parametrize("name,kwargs", [("mlp-gan", {}), ("dcgan", {}), ("dcgan", {"width": 32})])
def test_shapes_and_ranges(name, kwargs):
    G, D = build_models(name, latent_dim=100, **kwargs)
    z = torch.randn(5, 100)
    x = G(z)
    assert x.shape == (5, 1, 28, 28)
    assert x.min() >= -1 and x.max() <= 1  # Tanh output matches the data range
    logits = D(x)
    assert logits.shape == (5,)
    assert not any(isinstance(m, nn.Sigmoid) for m in D.modules())  # D returns logits


def test_mlp_parameter_counts_match_the_lecture_architecture():
    G, D = build_models("mlp-gan")
    sizes = [100, 128, 256, 512, 1024, 784]
    linear = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    batchnorm = 2 * (256 + 512 + 1024)  # scale and shift, no BN after the first layer
    assert sum(p.numel() for p in G.parameters()) == linear + batchnorm
    d_sizes = [784, 512, 256, 1]
    assert sum(p.numel() for p in D.parameters()) == sum(a * b + b for a, b in zip(d_sizes, d_sizes[1:]))


def test_mlp_batchnorm_sets_momentum_not_eps():
    bns = [m for m in MLPGenerator().modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(bns) == 3
    assert all(bn.eps == 1e-5 and bn.momentum == pytest.approx(0.2) for bn in bns)


def test_dcgan_discriminator_channels_follow_the_lecture():
    _, D = build_models("dcgan")
    convs = [m.out_channels for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert convs == [16, 32, 64, 128]


@pytest.mark.parametrize("name", ["mlp-gan", "dcgan"])  # conditional ones: test_conditional.py
def test_wrong_shapes_get_clear_messages(name):
    G, D = build_models(name)
    with pytest.raises(ValueError, match=r"expected noise of shape \(B, 100\), got \(4, 64\)"):
        G(torch.randn(4, 64))
    with pytest.raises(ValueError, match=r"expected images of shape \(B, 1, 28, 28\), got \(4, 784\)"):
        D(torch.randn(4, 784))


def test_unknown_model_and_argument():
    with pytest.raises(ValueError, match="unknown model 'gan9000'; choose one of mlp-gan, dcgan"):
        build_models("gan9000")
    with pytest.raises(ValueError, match="does not take width"):
        build_models("mlp-gan", width=8)
    with pytest.raises(ValueError, match="does not take d_width"):
        build_models("mlp-gan", d_width=8)


def test_d_width_sets_the_discriminator_alone():
    G, D = build_models("dcgan", width=32, d_width=128)
    assert G.width == 32
    assert [m.out_channels for m in D.modules() if isinstance(m, nn.Conv2d)] == [16, 32, 64, 128]
