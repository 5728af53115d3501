"""The gradient-saturation visualizer: analytic curves, the extremes table, measured points, a widget.

Write d = D(G(z)) = sigmoid(l), with l the discriminator's logit on a fake. The generator's losses
and their gradients (G descends them):

    minimax          log(1 - d)    d/dd = -1 / (1 - d)    d/dl = -d
    non-saturating   -log d        d/dd = -1 / d          d/dl = -(1 - d)

Early in training D rejects fakes confidently (d -> 0): the minimax gradient with respect to the
logit, -d, vanishes there, while the non-saturating one, -(1 - d), is close to -1.
"""
from __future__ import annotations

import copy
import dataclasses
import os

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor

from gancourse.config import TrainConfig
from gancourse.device import seed_everything
from gancourse.losses import get_g_loss
from gancourse.models import build_models
from gancourse.train import train_gan

REJECT_BELOW = 0.1  # D(G(z)) under this: D confidently rejects the fakes


def generator_gradients(d_fake: Tensor) -> dict[str, dict[str, Tensor]]:
    """Each generator loss at D(G(z)) = ``d_fake``, with its gradient w.r.t. D(G(z)) and the logit."""
    d = d_fake
    return {
        "minimax": {"loss": torch.log1p(-d), "grad_d": -1 / (1 - d), "grad_logit": -d},
        "non-saturating": {"loss": -torch.log(d), "grad_d": -1 / d, "grad_logit": -(1 - d)},
    }


def saturation_table(eps: float = 1e-4) -> list[dict]:
    """The lecture's extremes: D near 0 or 1 on real and on fake inputs, each cost and its gradient.

    D = 0 and 1 are approximated by ``eps`` and ``1 - eps`` so every cost is a finite number.
    Gradients are with respect to D's logit on that input. Each row also says whether the player's
    cost is off its optimum (the slides' question: who is losing?) and whether its gradient vanishes
    (this lecture's question: who can still learn?). D's best is D(x) = 1 and D(G(z)) = 0; the
    generator's best is D(G(z)) = 1.
    """
    rows = []
    for d in (1 - eps, eps):  # on real inputs: D's term is log D(x)
        rows.append({"input": "real x", "D": d, "player": "D", "cost": -torch.log(torch.tensor(d)).item(),
                     "grad": -(1 - d), "off_optimum": d < 0.5, "vanishes": abs(1 - d) < 1e-2})
    for d in (eps, 1 - eps):  # on fakes: D's term log(1 - D), then G's two losses
        t = torch.tensor(d, dtype=torch.float64)
        g = generator_gradients(t)
        rows.append({"input": "fake G(z)", "D": d, "player": "D", "cost": -torch.log1p(-t).item(),
                     "grad": d, "off_optimum": d > 0.5, "vanishes": d < 1e-2})
        for name in ("minimax", "non-saturating"):
            grad = g[name]["grad_logit"].item()
            rows.append({"input": "fake G(z)", "D": d, "player": f"G {name}", "cost": g[name]["loss"].item(),
                         "grad": grad, "off_optimum": d < 0.5, "vanishes": abs(grad) < 1e-2})
    return rows


def print_saturation_table(rows: list[dict] | None = None) -> None:
    """Print :func:`saturation_table` with 4 digits (deterministic output): the slides' column (is
    the cost off its optimum?) beside this lecture's (does the gradient through the logit vanish?)."""
    rows = rows or saturation_table()
    print(f"{'input':<10} {'D':>7}  {'player':<17} {'cost':>8}  {'off optimum?':<13}"
          f"{'d cost/d logit':>15}  {'vanishes?':<9}  verdict")
    for r in rows:
        verdict = {(True, True): "losing, and no gradient to escape: saturated",
                   (True, False): "losing, and pushed back",
                   (False, True): "at its optimum, at rest",
                   (False, False): "at its optimum, still pushed"}[r["off_optimum"], r["vanishes"]]
        print(f"{r['input']:<10} {r['D']:>7.4f}  {r['player']:<17} {r['cost']:>8.4f}  "
              f"{'yes' if r['off_optimum'] else 'no':<13}{r['grad']:>15.4f}  "
              f"{'yes' if r['vanishes'] else 'no':<9}  {verdict}")


def plot_saturation(d_marker: float | None = None, losses=("minimax", "non-saturating"),
                    measured: dict | None = None) -> Figure:
    """Loss and |gradient w.r.t. the logit| against D(G(z)), with the rejection region shaded.

    ``measured`` maps a loss name to ``(d_fake, grad_logit)`` tensors of per-sample measurements.
    """
    d = torch.linspace(1e-4, 1 - 1e-4, 400, dtype=torch.float64)
    curves = generator_gradients(d)
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
    colors = {"minimax": "tab:red", "non-saturating": "tab:blue"}
    for name in losses:
        ax_loss.plot(d, curves[name]["loss"], color=colors[name], lw=2, label=name)
        ax_grad.plot(d, curves[name]["grad_logit"].abs(), color=colors[name], lw=2, label=f"{name} (analytic)")
        if measured and name in measured:
            d_m, g_m = measured[name]
            ax_grad.scatter(d_m, g_m.abs(), s=14, color=colors[name], alpha=0.6, edgecolors="k",
                            linewidths=0.3, label=f"{name} (measured samples)", zorder=3)
    for ax in (ax_loss, ax_grad):
        ax.axvspan(1e-4, REJECT_BELOW, color="gray", alpha=0.15, label="D rejects fakes")
        if d_marker is not None:
            ax.axvline(d_marker, color="k", ls=":", lw=1.5, label=f"D(G(z)) = {d_marker:.3g}")
        ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    ax_loss.set(title="Generator losses", ylabel="loss that G minimises",
                xlabel="D(G(z)), the discriminator's probability that a fake is real")
    ax_grad.set(title="Gradient reaching G through D's logit", ylabel="|d loss / d logit| (log scale)",
                xscale="log", yscale="log", ylim=(1e-4, 2), xlabel="D(G(z)) (log scale)")
    return fig


def no_generator_step(G, D, batch, opt_g, g_loss) -> dict:
    """A generator step that does nothing: D trains alone (its head start)."""
    return {"loss_g": 0.0, "d_fake_g": 0.0, "grad_norm_g": 0.0}


def measure_saturation(data, cfg: TrainConfig, head_start: int = 100,
                       progress: bool = True) -> dict[str, dict]:
    """Train the same G against the same head-started D with each generator loss, and measure.

    Returns, per loss: ``history`` (per step, with D(G(z)) and G's gradient norm) and, just before
    the first G step, per-sample ``d_fake`` and ``grad_logit`` (each fake's gradient w.r.t. its logit).
    """
    # (1) one G and one D; D trains alone for head_start steps, so it rejects G's fakes confidently
    seed_everything(cfg.seed)
    G0, D0 = build_models(cfg.model, latent_dim=cfg.latent_dim, **cfg.model_kwargs)
    warmup = dataclasses.replace(cfg, num_steps=head_start, minutes=None)
    train_gan(G0, D0, data, warmup, g_step=no_generator_step, progress=False)
    results = {}
    for name in ("minimax", "non-saturating"):
        # (2) each loss starts from its own copy of that same G and head-started D
        G, D = copy.deepcopy(G0), copy.deepcopy(D0)
        # (3) before any G step: D(G(z)) of 256 fakes and each one's gradient w.r.t. its logit
        z = torch.randn(256, G.latent_dim, generator=torch.Generator().manual_seed(cfg.seed))
        with torch.no_grad():
            logits = D(G(z))
        logits.requires_grad_(True)
        (get_g_loss(name)(logits) * len(logits)).backward()  # undo the mean: per-sample gradients
        # (4) train with this loss for cfg.num_steps steps; one seed gives both the same batches and noise
        run_cfg = dataclasses.replace(cfg, loss=name, seed=cfg.seed + 1)
        history = train_gan(G, D, data, run_cfg, progress=progress)
        results[name] = {"history": history, "d_fake": torch.sigmoid(logits.detach()),
                         "grad_logit": logits.grad}
    return results


def _static_then_widgets(fig: Figure):
    """Display ``fig`` as a static figure (what a headless run stores), then return ipywidgets for
    the live control, or None where widgets are off (GANCOURSE_NO_WIDGETS=1) or not installed."""
    from IPython.display import display

    display(fig)
    plt.close(fig)
    if os.environ.get("GANCOURSE_NO_WIDGETS") == "1":
        return None
    try:
        import ipywidgets as widgets
    except ImportError:
        print("ipywidgets is not installed: the static figure above is the whole explorer")
        return None
    return widgets


def show_saturation_explorer(measured: dict | None = None) -> None:
    """Draw :func:`plot_saturation` as a static figure, then (if ipywidgets work) a live control.

    The static figure is what a headless run (nbval, papermill, GitHub's viewer) stores; set
    GANCOURSE_NO_WIDGETS=1 to skip the widget.
    """
    widgets = _static_then_widgets(plot_saturation(d_marker=0.01, measured=measured))
    if widgets is None:
        return

    def redraw(d_fake: float, loss: str) -> None:
        losses = ("minimax", "non-saturating") if loss == "both" else (loss,)
        fig = plot_saturation(d_marker=d_fake, losses=losses, measured=measured)
        g = generator_gradients(torch.tensor(d_fake, dtype=torch.float64))
        fig.suptitle("  |  ".join(f"{n}: gradient {g[n]['grad_logit'].item():+.4f}" for n in losses),
                     fontsize=11)
        plt.show()

    widgets.interact(redraw,
                     d_fake=widgets.FloatLogSlider(value=0.01, base=10, min=-4, max=-1e-4,
                                                   description="D(G(z))"),
                     loss=widgets.Dropdown(options=["both", "minimax", "non-saturating"],
                                           description="loss"))


def zoo_generator_gradients(outputs: Tensor, names=None) -> dict[str, Tensor]:
    """Per sample, the gradient of each zoo loss's generator term w.r.t. D's raw output on a fake
    (a logit for minimax / non-saturating / DRAGAN, a score for the others), by autograd."""
    from gancourse.losses import LOSSES

    out = {}
    for name in names or LOSSES:
        x = outputs.detach().clone().requires_grad_(True)
        (LOSSES[name].g(x) * len(x)).backward()  # undo the mean: each sample's own gradient
        out[name] = x.grad
    return out


ZOO_SHOWN = ("minimax", "non-saturating", "lsgan", "hinge", "wgan")  # wgan-gp's and dragan's G terms repeat these


def plot_zoo_gradients(names=ZOO_SHOWN, marker: float | None = None) -> Figure:
    """|d L_G / d D(G(z))| against D's raw output on a fake, for the zoo's generator losses: which
    ones still push G when D rejects its fakes (large negative outputs)? ``marker``: an output to
    mark, with each loss's gradient there."""
    outputs = torch.linspace(-8, 8, 401, dtype=torch.float64)
    grads = zoo_generator_gradients(outputs, names)
    marked = None if marker is None else zoo_generator_gradients(torch.tensor([marker], dtype=torch.float64), names)
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for name in names:
        (line,) = ax.plot(outputs, grads[name].abs(), label=name)
        if marked is not None:
            ax.plot([marker], marked[name].abs().clamp(min=1e-4), "o", color=line.get_color())
    ax.axvspan(-8, -2.2, color="gray", alpha=0.15, label="D rejects fakes (logit < -2.2: D < 0.1)")
    if marker is not None:
        ax.axvline(marker, color="black", linewidth=0.8, linestyle=":")
    ax.set(title="How hard each generator loss pushes, by D's output on a fake", yscale="log",
           xlabel="D's raw output on a fake (logit, or score for the score-based losses)",
           ylabel="|d L_G / d output| (log scale)", ylim=(1e-4, 20))
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def show_zoo_explorer(names=ZOO_SHOWN) -> None:
    """Lecture 2's explorer for the zoo: :func:`plot_zoo_gradients` as a static figure, then (if
    ipywidgets work) a slider on D's raw output on a fake and a choice of losses; the figure marks
    that output and its title gives each chosen loss's gradient there.

    The static figure is what a headless run (nbval, papermill, GitHub's viewer) stores; set
    GANCOURSE_NO_WIDGETS=1 to skip the widget.
    """
    widgets = _static_then_widgets(plot_zoo_gradients(names))
    if widgets is None:
        return

    def redraw(output: float, losses: tuple) -> None:
        chosen = tuple(losses) or tuple(names)
        fig = plot_zoo_gradients(chosen, marker=output)
        g = zoo_generator_gradients(torch.tensor([output], dtype=torch.float64), chosen)
        fig.suptitle("  |  ".join(f"{n}: {g[n].item():+.4f}" for n in chosen), fontsize=10)
        fig.tight_layout()
        plt.show()

    widgets.interact(redraw,
                     output=widgets.FloatSlider(value=-4.0, min=-8.0, max=8.0, step=0.1,
                                                description="D(G(z)) raw"),
                     losses=widgets.SelectMultiple(options=list(names), value=tuple(names), rows=len(names),
                                                   description="losses"))
