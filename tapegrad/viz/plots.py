"""Matplotlib pictures of training: curves, decision boundaries, gradient flow, histograms and
image grids (what the seed programs showed in TensorBoard, as plain files).

Every function builds a `matplotlib.figure.Figure` directly, without pyplot: nothing is
registered in pyplot's global figure list (so loops do not leak figures) and no GUI backend
is ever needed, which keeps the helpers safe on headless machines and in tests. The figure is
returned (Jupyter shows it) and, when ``path`` is given, saved there; the format follows the
suffix (``.png``, ``.svg``, ``.pdf``). SVG output is byte-identical from run to run: the
element-id salt is fixed and the date is left out.

matplotlib is imported inside the functions, so ``import tapegrad`` never pays for it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

import tapegrad

__all__ = ["training_curves", "decision_boundary", "gradient_flow", "histograms", "image_grid"]

# the same salt every run: matplotlib otherwise derives SVG element ids from random numbers
SVG_HASHSALT = "tapegrad"
KINDS = ("weight", "grad", "activation")


def _figure(width: float, height: float) -> Any:
    """A new Figure with an Agg canvas (no pyplot, no GUI)."""
    # An explicit Agg canvas (the non-interactive raster backend) instead of
    # matplotlib.use("Agg"): that would switch the backend for the whole process, breaking
    # inline plots in a notebook that imports pyplot afterwards.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | Path | None) -> None:
    """Write ``fig`` to ``path`` (format from the suffix) with reproducible metadata."""
    if path is None:
        return
    import matplotlib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix.lower().lstrip(".") or "png"
    # drop the timestamps, so the same figure gives the same file
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASHSALT}):
        fig.savefig(path, format=fmt, metadata=metadata)


def _to_numpy(x: Any) -> np.ndarray:
    """A numpy copy of a tapegrad/torch tensor, a Scalar, or anything array-like."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        return np.array(x.detach().numpy())
    if hasattr(x, "data") and isinstance(getattr(x, "data", None), (int, float)):
        return np.array(x.data)  # a tapegrad.Scalar
    return np.array(x)


def _named(items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return list(items.items()) if isinstance(items, Mapping) else list(items)


# ---------------------------------------------------------------- training curves
def _metric(key: str) -> str:
    """``train_loss`` and ``val loss`` are both a ``loss``: curves of one metric share axes."""
    words = re.findall(r"[A-Za-z0-9]+", key)
    return words[-1].lower() if words else key


def training_curves(history: Mapping[str, Iterable[float]] | Iterable[float],
                    path: str | Path | None = None, *, xlabel: str = "step",
                    log_scale: bool = False) -> Any:
    """Plot how the loss (and any other metric) changed during training.

    ``history`` is a list of losses, or a dict ``name -> list of values``. Curves of the same
    metric (``train_loss`` and ``val_loss``: the last word of the name) share one panel, so
    over-fitting shows as two curves drifting apart; different metrics (loss, accuracy) get
    their own panel because their scales differ. ``log_scale`` puts the y axis on a log scale,
    which shows the slow late phase of a falling loss.
    """
    if not isinstance(history, Mapping):
        history = {"loss": history}
    series = {name: np.array([float(v) for v in values]) for name, values in history.items()}
    if not series:
        raise ValueError("training_curves needs at least one curve")
    groups: dict[str, list[str]] = {}
    for name in series:
        groups.setdefault(_metric(name), []).append(name)
    fig = _figure(4.5 * len(groups), 3.5)
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, (metric, names) in zip(axes, groups.items(), strict=True):
        for name in names:
            values = series[name]
            ax.plot(np.arange(1, len(values) + 1), values, label=name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(metric)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        if log_scale:
            ax.set_yscale("log")
        if len(names) > 1:
            ax.legend()
    _save(fig, path)
    return fig


# ---------------------------------------------------------------- decision boundary
def _predict_classes(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class index, confidence in [0, 1]) from a model's outputs.

    ``(N, C)`` with ``C >= 2``: logits or probabilities, the class is the argmax and the
    confidence the softmax probability of class 1 (for two classes) or of the winner.
    ``(N,)`` or ``(N, 1)``: one score per point; values all in [0, 1] are read as
    probabilities (threshold 0.5), anything else as a logit or margin (threshold 0).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 2 and scores.shape[1] >= 2:
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs = shifted / shifted.sum(axis=1, keepdims=True)
        if np.all((scores >= 0) & (scores <= 1)) and np.allclose(scores.sum(axis=1), 1):
            probs = scores  # already probabilities
        classes = probs.argmax(axis=1)
        conf = probs[:, 1] if probs.shape[1] == 2 else probs.max(axis=1)
        return classes, conf
    scores = scores.reshape(len(scores))
    if np.all((scores >= 0) & (scores <= 1)):
        return (scores > 0.5).astype(np.int64), scores
    return (scores > 0).astype(np.int64), 1 / (1 + np.exp(-scores))


def decision_boundary(model_or_fn: Callable[[Any], Any], x: Any, y: Any,
                      path: str | Path | None = None, resolution: int = 200, *,
                      margin: float = 0.5, title: str | None = None) -> Any:
    """Colour the plane by the class a 2-D classifier predicts, with the data on top.

    The model is evaluated (under ``no_grad``: no tape is recorded) on a
    ``resolution x resolution`` grid covering the points plus ``margin``; the filled colours
    are the model's confidence, the black line is where its decision flips. ``x`` is
    ``(N, 2)`` and ``y`` the ``(N,)`` integer labels, as tapegrad tensors or numpy arrays.
    The title shows the accuracy on the points.
    """
    x_np, y_np = _to_numpy(x), _to_numpy(y).reshape(-1).astype(np.int64)
    if x_np.ndim != 2 or x_np.shape[1] != 2:
        raise ValueError(f"decision_boundary needs 2-D points of shape (N, 2), got {x_np.shape}")
    dtype = x_np.dtype if x_np.dtype.kind == "f" else np.dtype(np.float32)
    lo, hi = x_np.min(axis=0) - margin, x_np.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(dtype)
    with tapegrad.no_grad():
        grid_classes, grid_conf = _predict_classes(
            _to_numpy(model_or_fn(tapegrad.tensor(grid))))
        point_classes, _ = _predict_classes(
            _to_numpy(model_or_fn(tapegrad.tensor(x_np.astype(dtype)))))
    accuracy = float((point_classes == y_np).mean()) if len(y_np) else float("nan")

    fig = _figure(5, 4.5)
    ax = fig.subplots()
    n_classes = int(max(grid_classes.max(initial=0), y_np.max(initial=0))) + 1
    if n_classes <= 2:
        filled = ax.contourf(gx, gy, grid_conf.reshape(gx.shape), levels=20, cmap="RdBu_r",
                             vmin=0, vmax=1, alpha=0.45)
        fig.colorbar(filled, ax=ax, label="P(class 1)")
    else:
        ax.contourf(gx, gy, grid_classes.reshape(gx.shape), levels=np.arange(n_classes + 1) - 0.5,
                    cmap="tab10", vmin=0, vmax=9, alpha=0.35)
    # the boundary: where the predicted class changes
    ax.contour(gx, gy, grid_classes.reshape(gx.shape), levels=np.arange(n_classes) + 0.5,
               colors="k", linewidths=1.0)
    ax.scatter(x_np[:, 0], x_np[:, 1], c=y_np, cmap="RdBu_r" if n_classes <= 2 else "tab10",
               vmin=0, vmax=1 if n_classes <= 2 else 9, edgecolors="white", linewidths=0.5, s=16)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title or f"decision boundary (accuracy {accuracy:.3f})")
    _save(fig, path)
    return fig


# ---------------------------------------------------------------- gradient flow
def gradient_flow(named_parameters: Mapping[str, Any] | Iterable[tuple[str, Any]],
                  path: str | Path | None = None, *, log_scale: bool = True) -> Any:
    """The classic gradient-flow plot: mean and max ``|grad|`` of every parameter, layer by
    layer from input to output, after a ``backward()``.

    Vanishing gradients show as bars shrinking towards the input layers; exploding ones as
    bars growing. Pass ``model.named_parameters()`` (or a dict ``name -> tensor``). A
    parameter whose ``.grad`` is ``None`` (not reached by the backward pass) gets no bar and
    ``(no grad)`` in its label: often a bug, such as a layer that is never used.
    """
    names, means, maxes = [], [], []
    for name, p in _named(named_parameters):
        grad = getattr(p, "grad", None)
        if grad is None:
            names.append(f"{name} (no grad)")
            means.append(np.nan)
            maxes.append(np.nan)
            continue
        g = np.abs(_to_numpy(grad))
        names.append(name)
        means.append(float(g.mean()) if g.size else 0.0)
        maxes.append(float(g.max()) if g.size else 0.0)
    if not names:
        raise ValueError("gradient_flow needs at least one parameter")
    pos = np.arange(len(names))
    fig = _figure(max(4.0, 0.6 * len(names) + 2), 4.0)
    ax = fig.subplots()
    ax.bar(pos, maxes, width=0.8, alpha=0.35, color="tab:cyan", label="max |grad|")
    ax.bar(pos, means, width=0.8, alpha=0.9, color="tab:blue", label="mean |grad|")
    ax.set_xticks(pos, names, rotation=60, ha="right")
    ax.set_xlim(-0.75, len(names) - 0.25)
    ax.set_xlabel("parameter (input side on the left)")
    ax.set_ylabel("|grad|")
    ax.set_title("gradient flow")
    positive = [v for v in means + maxes if np.isfinite(v) and v > 0]
    if log_scale and positive:
        ax.set_yscale("log")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    _save(fig, path)
    return fig


# ---------------------------------------------------------------- histograms
def histograms(named_tensors: Mapping[str, Any] | Iterable[tuple[str, Any]],
               kind: str = "weight", path: str | Path | None = None, *, bins: int = 40,
               ncols: int = 4) -> Any:
    """One histogram per tensor: the distribution of weights, of their gradients
    (``kind="grad"`` reads each tensor's ``.grad``) or of activations.

    What to look for: weights that stay at their initial spread (a layer not learning),
    gradients all near zero (vanishing) or with huge tails (exploding), ReLU activations
    piled up at zero (dead units). Each panel's title has the name and shape, and the mean
    and standard deviation are written inside.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    items = _named(named_tensors)
    if not items:
        raise ValueError("histograms needs at least one tensor")
    ncols = max(1, min(ncols, len(items)))
    nrows = math.ceil(len(items) / ncols)
    fig = _figure(3.2 * ncols, 2.6 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (name, t) in zip(axes, items, strict=False):
        source = getattr(t, "grad", None) if kind == "grad" else t
        if source is None:
            ax.set_title(f"{name}: no grad")
            ax.set_axis_off()
            continue
        values = _to_numpy(source)
        ax.hist(values.ravel(), bins=bins, color="tab:blue", alpha=0.8)
        ax.set_title(f"{name} {tuple(values.shape)}", fontsize=9)
        ax.set_xlabel(kind)
        if values.size:
            ax.text(0.98, 0.95, f"mean {values.mean():.3g}\nstd {values.std():.3g}",
                    transform=ax.transAxes, ha="right", va="top", fontsize=8)
    for ax in axes[len(items):]:
        fig.delaxes(ax)
    _save(fig, path)
    return fig


# ---------------------------------------------------------------- image grids
def _as_images(images: Any) -> np.ndarray:
    """``(N, H, W)`` or ``(N, H, W, 3)`` for imshow, from the usual layouts.

    Accepts ``(N, H, W)``, ``(N, C, H, W)`` (torch's channels-first, C in 1 or 3),
    ``(N, H, W, C)`` and flat ``(N, H*W)`` rows of square images (e.g. 8x8 digits as 64).
    """
    a = _to_numpy(images)
    if a.ndim == 2:
        side = math.isqrt(a.shape[1])
        if side * side != a.shape[1]:
            raise ValueError(f"flat images of {a.shape[1]} pixels are not square")
        a = a.reshape(len(a), side, side)
    if a.ndim == 4:
        if a.shape[1] in (1, 3) and a.shape[-1] not in (1, 3):
            a = a.transpose(0, 2, 3, 1)  # channels-first -> channels-last
        if a.shape[-1] == 1:
            a = a[..., 0]
    if a.ndim not in (3, 4):
        raise ValueError(f"images must be (N, H, W), (N, C, H, W) or (N, H, W, C); got {a.shape}")
    return a


def _class_text(value: Any, class_names: list[str] | None) -> str:
    index = int(value)
    return class_names[index] if class_names is not None else str(index)


def image_grid(images: Any, labels: Any = None, predictions: Any = None,
               path: str | Path | None = None, ncols: int = 8, *,
               class_names: list[str] | None = None) -> Any:
    """Show a batch of images in a grid, titled with their labels and/or predictions.

    ``predictions`` may be class indices ``(N,)`` or the model's scores ``(N, C)`` (the
    argmax is taken). With both labels and predictions each title reads
    ``pred (true label)`` in green when right and red when wrong, so the mistakes stand out.
    """
    imgs = _as_images(images)
    n = len(imgs)
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    labels_np = None if labels is None else _to_numpy(labels).reshape(-1)
    preds_np = None if predictions is None else _to_numpy(predictions)
    if preds_np is not None and preds_np.ndim == 2:
        preds_np = preds_np.argmax(axis=1)
    if preds_np is not None:
        preds_np = preds_np.reshape(-1)
    for what, arr in (("labels", labels_np), ("predictions", preds_np)):
        if arr is not None and len(arr) != n:
            raise ValueError(f"{n} images but {len(arr)} {what}")
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = _figure(1.3 * ncols, 1.5 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i >= n:
            continue
        img = imgs[i]
        if img.ndim == 2:
            ax.imshow(img, cmap="gray_r", interpolation="nearest")
        else:
            lo, hi = float(img.min()), float(img.max())
            ax.imshow((img - lo) / (hi - lo) if hi > lo else np.zeros_like(img),
                      interpolation="nearest")
        if preds_np is not None and labels_np is not None:
            right = int(preds_np[i]) == int(labels_np[i])
            ax.set_title(f"{_class_text(preds_np[i], class_names)} "
                         f"({_class_text(labels_np[i], class_names)})",
                         color="tab:green" if right else "tab:red", fontsize=9)
        elif preds_np is not None:
            ax.set_title(_class_text(preds_np[i], class_names), fontsize=9)
        elif labels_np is not None:
            ax.set_title(_class_text(labels_np[i], class_names), fontsize=9)
    _save(fig, path)
    return fig
