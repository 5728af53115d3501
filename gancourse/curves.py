"""Training curves to read: small 1-D GANs trained with one defect each, for lecture 2's exercise.

``mystery_runs()`` trains them (under a minute on a CPU) and returns their histories under the
letters A-D in a fixed, shuffled order; which defect is which is the exercise's question.
"""
from __future__ import annotations

import torch
from torch import nn

from gancourse.losses import discriminator_loss, generator_loss_minimax, generator_loss_nonsaturating
from gancourse.toy import GaussianMixture1D

DIAGNOSES = ("healthy", "saturated", "labels swapped", "D does not learn", "G does not learn")
_ORDER = {"A": "labels swapped", "B": "saturated", "C": "G does not learn", "D": "D does not learn"}


def _mlp(width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(1, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))


def _train(defect: str, num_steps: int, seed: int, head_start: int = 200) -> list[dict]:
    torch.manual_seed(seed)
    data, gen = GaussianMixture1D(), torch.Generator().manual_seed(seed)
    G, D = _mlp(16), _mlp(32)
    with torch.no_grad():
        G[2].bias.fill_(8.0)  # G starts far from the data, where D separates them easily
    opt_g, opt_d = torch.optim.SGD(G.parameters(), 0.05), torch.optim.Adam(D.parameters(), 1e-3)
    g_loss = generator_loss_minimax if defect == "saturated" else generator_loss_nonsaturating
    history = []
    for step in range(-head_start, num_steps):  # D trains alone first, as when it outpaces G
        x_real, z = data.sample(64, generator=gen), torch.randn(64, 1)
        real_logits, fake_logits = D(x_real), D(G(z).detach())
        loss_d = (discriminator_loss(fake_logits, real_logits) if defect == "labels swapped"
                  else discriminator_loss(real_logits, fake_logits))
        opt_d.zero_grad()
        loss_d.backward()
        if defect != "D does not learn":
            opt_d.step()
        if step < 0:
            continue
        fake_logits_g = D(G(torch.randn(64, 1)))
        opt_g.zero_grad()
        g_loss(fake_logits_g).backward()
        grad_norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in G.parameters()])).item()
        if defect != "G does not learn":
            opt_g.step()
        D.zero_grad()
        history.append({"step": step + 1, "d_real": torch.sigmoid(real_logits).mean().item(),
                        "d_fake": torch.sigmoid(fake_logits).mean().item(), "grad_norm_g": grad_norm})
    return history


def mystery_runs(num_steps: int = 300, seed: int = 0) -> dict[str, list[dict]]:
    """Four training histories, A-D, each with one defect from :data:`DIAGNOSES` (or none)."""
    return {letter: _train(defect, num_steps, seed) for letter, defect in _ORDER.items()}


def plot_runs(runs: dict[str, list[dict]]):
    """D(x), D(G(z)) and G's gradient norm of each run, one column per run."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(runs), figsize=(3.2 * len(runs), 5.5), sharex=True, dpi=100)
    for col, (letter, history) in enumerate(runs.items()):
        steps = [r["step"] for r in history]
        top, bottom = axes[0, col], axes[1, col]
        top.plot(steps, [r["d_real"] for r in history], label="D(x)")
        top.plot(steps, [r["d_fake"] for r in history], label="D(G(z))")
        top.set(title=f"run {letter}", ylim=(-0.02, 1.02), ylabel="mean probability")
        bottom.plot(steps, [max(r["grad_norm_g"], 1e-12) for r in history], color="tab:green")
        bottom.set(yscale="log", ylim=(1e-3, 10), xlabel="step", ylabel="|grad G| (shared scale)")
        top.legend(fontsize=8)
    fig.suptitle("Four training runs, one defect each: D's outputs (top) and G's gradient norm (bottom)")
    fig.tight_layout()
    return fig


def true_diagnoses() -> dict[str, str]:
    """The defect behind each run (what the exercise's self-check compares with)."""
    return dict(_ORDER)

