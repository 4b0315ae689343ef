"""The twins' arithmetic: both networks of an experiment trained together, full-batch, in NumPy.

A twin is its spec's plan (:func:`rmlp.learn.experiment.twin_specs`) written out: each block's entry ``Dense(k)``
(relu), batch normalisation, ``j`` main-path ``Dense(k)`` layers (relu) each followed by batch normalisation,
then, with the bypass, ``Concatenate([main, entry])`` (the bypass's dropout has rate 0, so it passes the entry
output on unchanged); after the last block the output ``Dense(1)``. The plain twin has the same layers without
the bypass.

Why NumPy: the networks are tiny (a few hundred rows, 16 units). TensorFlow spends seconds tracing and optimising
a graph of them and more time per operation than the arithmetic takes; NumPy starts at once. Every step is
full-batch, so batch normalisation always sees the whole training set; predictions use the same statistics (the
training rows' own), where Keras's running averages would still lag behind after a few hundred steps.
:func:`to_keras` puts the weights and these statistics into the spec's own Keras model, which then predicts the
same (tested), and the gradients agree with TensorFlow's (tested).

Both twins live in one set of arrays with a leading axis of two (residual, plain), so each NumPy operation serves
both. The plain twin's entry and output kernels are padded with zero rows to the residual's width and see zeros
where the residual sees its bypass, so the padding never gets a gradient and stays zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from rmlp.design.plan import make_plan
from rmlp.keras.build import build_uncompiled

__all__ = ["NAMES", "Pair", "TwinWeights", "init_weights", "output", "to_keras"]

#: A twin's weight arrays: block 1 (entry kernel and bias, main kernels and biases, the ``j + 1`` normalisation
#: scales and offsets), the same stacked for blocks 2 … D, then the output layer's kernel and bias.
NAMES = ("e0k", "e0b", "m0k", "m0b", "n0g", "n0b", "ek", "eb", "mk", "mb", "ng", "nb", "ok", "ob")
BETA_1, BETA_2, EPSILON, BN_EPSILON = 0.9, 0.999, 1e-7, 1e-3


@dataclass
class TwinWeights:
    """One twin's weights as NumPy arrays (see :data:`NAMES`)."""

    residual: bool
    arrays: list[np.ndarray]

    @property
    def depth(self) -> int:
        return 1 + int(self.arrays[6].shape[0])

    @property
    def layers(self) -> int:
        return int(self.arrays[2].shape[0])


def _glorot(rng: np.random.Generator, fan_in: int, fan_out: int, normal: bool) -> np.ndarray:
    """Keras's Glorot initialisers: truncated normal (cut at two deviations) or uniform."""
    if normal:
        std = np.sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978
        w = rng.normal(0.0, 1.0, (fan_in, fan_out))
        while (bad := np.abs(w) > 2).any():
            w[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
        return w * std
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out))


def init_weights(residual: bool, inputs: int, depth: int, width: int, layers: int, seed: int,
                 quiet_start: bool = False) -> TwinWeights:
    """Starting weights as the spec's Keras model draws them: entry kernels Glorot normal, main-path and output
    kernels Glorot uniform, biases 0, normalisation scales 1 and offsets 0.

    Each layer has its own seeded generator, so the layers both twins share in shape (block 1, every main path)
    start from the same weights. ``quiet_start`` (residual twin only) sets the scale of each block's last
    main-path normalisation to 0, so at first every main path adds nothing and the signal takes the short way.
    """
    merged = 2 * width if residual else width

    def dense(block: int, index: int, fan_in: int) -> np.ndarray:
        return _glorot(np.random.default_rng([seed, block, index]), fan_in, width, normal=index == 0)

    def main(block: int) -> np.ndarray:
        return np.array([dense(block, i + 1, width) for i in range(layers)]).reshape(layers, width, width)

    rest = depth - 1
    scales = np.ones((depth, layers + 1, width))
    if quiet_start and residual:
        scales[:, layers] = 0.0
    arrays = [dense(0, 0, inputs), np.zeros(width), main(0), np.zeros((layers, width)), scales[0],
              np.zeros((layers + 1, width)),
              np.array([dense(b, 0, merged) for b in range(1, depth)]).reshape(rest, merged, width),
              np.zeros((rest, width)), np.array([main(b) for b in range(1, depth)]).reshape(rest, layers, width, width),
              np.zeros((rest, layers, width)), scales[1:], np.zeros((rest, layers + 1, width)),
              _glorot(np.random.default_rng([seed, 9999]), merged, 1, normal=False), np.zeros(1)]
    return TwinWeights(residual, [np.asarray(a, dtype=np.float32) for a in arrays])


# ---------------------------------------------------------------------- both twins at once
def _part(arrays: list[np.ndarray], block: int) -> list[np.ndarray]:
    """Block ``block``'s six arrays as views into the stacked ones (leading axis: residual, plain)."""
    return list(arrays[:6]) if block == 0 else [a[:, block - 1] for a in arrays[6:12]]


def _t(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


@lru_cache(maxsize=16)
def _ones(n: int) -> np.ndarray:
    """A row of ``n`` ones (read-only): ``_ones(n) @ z`` sums ``z`` over its rows many times faster than
    ``z.sum(axis=1)``."""
    ones = np.ones((1, n), dtype=np.float32)
    ones.flags.writeable = False
    return ones


@lru_cache(maxsize=16)
def _means(n: int) -> np.ndarray:
    """A row of ``n`` times ``1/n`` (read-only): ``_means(n) @ z`` is the mean over the rows."""
    row = np.full((1, n), 1.0 / n, dtype=np.float32)
    row.flags.writeable = False
    return row


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


class Pair:
    """Both twins of one experiment: forward pass, gradients and Adam steps, each operation serving both."""

    def __init__(self, residual: TwinWeights, plain: TwinWeights) -> None:
        self.depth, self.layers, self.width = residual.depth, residual.layers, int(residual.arrays[1].shape[0])
        padded = list(plain.arrays)
        padded[6] = np.concatenate([padded[6], np.zeros_like(padded[6])], axis=1)
        padded[12] = np.concatenate([padded[12], np.zeros_like(padded[12])], axis=0)
        self.arrays = [np.stack([a, b]).astype(np.float32) for a, b in zip(residual.arrays, padded, strict=True)]
        self.m = [np.zeros_like(a) for a in self.arrays]
        self.v = [np.zeros_like(a) for a in self.arrays]
        self.grads = [np.zeros_like(a) for a in self.arrays]
        self.bypass = np.array([1.0, 0.0], dtype=np.float32).reshape(2, 1, 1)
        self.t = 0

    def weights(self) -> tuple[TwinWeights, TwinWeights]:
        """Each twin's weights as they stand (copies; the plain twin without its padding)."""
        res, plain = [a[0].copy() for a in self.arrays], [a[1].copy() for a in self.arrays]
        plain[6], plain[12] = plain[6][:, :self.width], plain[12][:self.width]
        return TwinWeights(True, res), TwinWeights(False, plain)

    def forward(self, x: np.ndarray, n_ref: int) -> tuple[np.ndarray, list[Any]]:
        """Outputs before the activation (2 × rows × 1) and what the backward pass needs; batch statistics from
        the first ``n_ref`` rows."""
        cache: list[Any] = []
        h = x[None]
        for b in range(self.depth):
            ek, eb, mk, mb, ng, nb = _part(self.arrays, b)
            pre = h @ ek + eb[:, None]
            entry = np.maximum(pre, 0.0)
            layers = []
            norm = _norm_forward(entry, ng[:, 0], nb[:, 0], n_ref)
            for i in range(self.layers):
                pre_i = norm[0] @ mk[:, i] + mb[:, i, None]
                layers.append((norm, pre_i))
                norm = _norm_forward(np.maximum(pre_i, 0.0), ng[:, i + 1], nb[:, i + 1], n_ref)
            cache.append((h, pre, norm, layers))
            h = np.concatenate([norm[0], entry * self.bypass], axis=2)
        cache.append(h)
        return h @ self.arrays[12] + self.arrays[13][:, None], cache

    def backward(self, cache: list[Any], d_out: np.ndarray) -> None:
        """Gradients of every array, into ``self.grads``, from the gradient of the outputs."""
        g, width = self.grads, self.width
        ones = _ones(d_out.shape[1])
        g[12][...] = _t(cache[-1]) @ d_out
        g[13][...] = (ones @ d_out)[:, 0]
        d_h = d_out @ _t(self.arrays[12])
        for b in reversed(range(self.depth)):
            x, pre, norm, layers = cache[b]
            ek, _, mk, _, ng, _ = _part(self.arrays, b)
            dek, deb, dmk, dmb, dng, dnb = _part(g, b)
            d_main, d_entry = d_h[:, :, :width], d_h[:, :, width:] * self.bypass
            for i in reversed(range(self.layers)):
                norm_in, pre_i = layers[i]
                d_relu = _norm_backward(norm, d_main, ng[:, i + 1], dng[:, i + 1], dnb[:, i + 1]) * (pre_i > 0)
                dmk[:, i] = _t(norm_in[0]) @ d_relu
                dmb[:, i] = (ones @ d_relu)[:, 0]
                d_main = d_relu @ _t(mk[:, i])
                norm = norm_in
            d_pre = (_norm_backward(norm, d_main, ng[:, 0], dng[:, 0], dnb[:, 0]) + d_entry) * (pre > 0)
            dek[...] = _t(np.broadcast_to(x, d_pre.shape[:2] + x.shape[2:])) @ d_pre
            deb[...] = (ones @ d_pre)[:, 0]
            if b:
                d_h = d_pre @ _t(ek)

    def loss_and_gradient(self, x: np.ndarray, y: np.ndarray, regression: bool) -> np.ndarray:
        """One full-batch pass of both: their losses, the gradients left in ``self.grads``."""
        out, cache = self.forward(x, len(x))
        losses, d_out = _loss(out, y, regression)
        self.backward(cache, d_out)
        return losses

    def step(self, x: np.ndarray, y: np.ndarray, regression: bool, learning_rate: float) -> np.ndarray:
        """One full-batch Adam step of both (Keras's formula); returns their losses before it."""
        losses = self.loss_and_gradient(x, y, regression)
        self.t += 1
        rate = np.float32(learning_rate * np.sqrt(1 - BETA_2 ** self.t) / (1 - BETA_1 ** self.t))
        for w, m, v, g in zip(self.arrays, self.m, self.v, self.grads, strict=True):
            m += (1 - BETA_1) * (g - m)
            v += (1 - BETA_2) * (g * g - v)
            w -= rate * m / (np.sqrt(v) + EPSILON)
        return losses

    def block_gradient_norms(self) -> np.ndarray:
        """Norm of each block's Dense kernel gradients (entry and main path) after the last pass: 2 × depth."""
        norms = [np.sqrt(np.sum(p[0] ** 2, axis=(1, 2)) + np.sum(p[2] ** 2, axis=(1, 2, 3)))
                 for p in (_part(self.grads, b) for b in range(self.depth))]
        return np.stack(norms, axis=1)

    def evaluate(self, x_train: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Outputs before the activation on the training rows, then on ``x`` (2 × rows × 1), batch statistics
        from the training rows."""
        return self.forward(np.concatenate([x_train, x]), len(x_train))[0]

    def predict(self, x_train: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Outputs before the activation on ``x`` (2 × rows × 1), batch statistics from the training rows."""
        return self.evaluate(x_train, x)[:, len(x_train):]


def _norm_forward(z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, n_ref: int) -> tuple[np.ndarray, ...]:
    """Batch normalisation (2 × rows × units) with the first ``n_ref`` rows' statistics: (output, unit, 1/std)."""
    means = _means(n_ref)
    centred = z - means @ z[:, :n_ref]
    inv = 1.0 / np.sqrt(means @ np.square(centred[:, :n_ref]) + BN_EPSILON)
    unit = centred * inv
    return unit * gamma[:, None] + beta[:, None], unit, inv


def _norm_backward(norm: tuple[np.ndarray, ...], d_y: np.ndarray, gamma: np.ndarray, d_gamma: np.ndarray,
                   d_beta: np.ndarray) -> np.ndarray:
    """The gradient reaching a batch normalisation's input (training statistics); its scale's and offset's
    gradients go into ``d_gamma`` and ``d_beta``."""
    _, unit, inv = norm
    n = d_y.shape[1]
    ones, means = _ones(n), _means(n)
    d_gamma[...] = (ones @ (d_y * unit))[:, 0]
    d_beta[...] = (ones @ d_y)[:, 0]
    d_unit = d_y * gamma[:, None]
    return inv * (d_unit - means @ d_unit - unit * (means @ (d_unit * unit)))


def _loss(out: np.ndarray, y: np.ndarray, regression: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each twin's mean squared error (the curve) or binary cross-entropy on the logits, and its gradient."""
    n = out.shape[1]
    if regression:
        diff = out - y
        return np.mean(diff ** 2, axis=(1, 2)), 2 * diff / n
    loss = np.maximum(out, 0) - out * y + np.log1p(np.exp(-np.abs(out)))
    return np.mean(loss, axis=(1, 2)), (_sigmoid(out) - y) / n


def losses_of(out: np.ndarray, y: np.ndarray, regression: bool) -> np.ndarray:
    """Each twin's loss on rows ``y`` from its outputs before the activation."""
    return _loss(out, y, regression)[0]


def output(out: np.ndarray, regression: bool) -> np.ndarray:
    """Predictions from outputs before the activation (the sigmoid's probabilities for the classes)."""
    return out if regression else _sigmoid(out)


# ---------------------------------------------------------------------- into Keras
def batch_statistics(weights: TwinWeights, x_train: np.ndarray) -> dict[tuple[int, int], tuple[np.ndarray, ...]]:
    """Mean and variance of every batch normalisation over the training rows: {(block, index): (mean, var)}."""
    a = [np.asarray(v, dtype=np.float64) for v in weights.arrays]
    stats: dict[tuple[int, int], tuple[np.ndarray, ...]] = {}
    h = np.asarray(x_train, dtype=np.float64)

    def norm(z: np.ndarray, block: int, index: int, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
        mean, var = z.mean(axis=0), z.var(axis=0)
        stats[(block, index)] = (mean, var)
        return (z - mean) / np.sqrt(var + BN_EPSILON) * gamma + beta

    for b in range(weights.depth):
        ek, eb, mk, mb, ng, nb = (a[i] if b == 0 else a[i + 6][b - 1] for i in range(6))
        entry = np.maximum(h @ ek + eb, 0.0)
        z = norm(entry, b, 0, ng[0], nb[0])
        for i in range(weights.layers):
            z = norm(np.maximum(z @ mk[i] + mb[i], 0.0), b, i + 1, ng[i + 1], nb[i + 1])
        h = np.concatenate([z, entry], axis=1) if weights.residual else z
    return stats


def to_keras(weights: TwinWeights, spec: Any, x_train: np.ndarray) -> Any:
    """The spec's own Keras model (:func:`rmlp.keras.build.build_uncompiled`) with these weights, each batch
    normalisation holding the training rows' statistics."""
    model = build_uncompiled(spec)
    a = weights.arrays
    stats = batch_statistics(weights, x_train)
    for node in make_plan(spec):
        block = int(node.block or 0)
        part = [a[i] if block == 0 else a[i + 6][block - 1] for i in range(6)]
        if node.op == "dense" and node.role == "output":
            values = [a[12], a[13]]
        elif node.op == "dense" and node.role == "entry":
            values = [part[0], part[1]]
        elif node.op == "dense":
            index = int(node.name.rsplit("dense", 1)[1]) - 1
            values = [part[2][index], part[3][index]]
        elif node.op == "batchnorm":
            index = int(node.name.rsplit("bn", 1)[1])
            values = [part[4][index], part[5][index], *stats[(block, index)]]
        else:
            continue
        model.get_layer(node.name).set_weights([np.asarray(v, dtype=np.float32) for v in values])
    return model
