"""Unsupervised hashing baselines: LSH, PCA-ITQ and spectral hashing.

Each is fitted on a database's features `[N, D]` and encodes any features to 0/1 codes
`[M, bits]` (uint8), so the same harness scores them all.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LSH", "PCAITQ", "SpectralHashing", "pca", "itq_rotation"]


def _features(x, name: str = "features", dtype=np.float32) -> np.ndarray:
    # float32 keeps the [N, D] products fast; the small solves run in float64.
    x = np.asarray(x, dtype=dtype)
    if x.ndim != 2:
        raise ValueError(f"{name} must be [N, D], got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} has NaN or infinite values")
    return x


def pca(x: np.ndarray, dim: int, dtype=np.float32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mean `[D]`, the top-`dim` principal directions `[D, dim]` and their variances.

    `dtype`: of the centred data and its `[D, D]` product (float32 for pixels; float64 for
    small embeddings, as `dstgeh.PseudoBitQuantizer` uses it).
    """
    x = _features(x, dtype=dtype)
    if not 0 < dim <= x.shape[1]:
        raise ValueError(f"PCA dim must be in [1, {x.shape[1]}], got {dim}")
    mean = x.mean(axis=0, dtype=np.float64).astype(dtype)
    centred = x - mean
    covariance = (centred.T @ centred).astype(np.float64) / max(len(x) - 1, 1)
    values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1][:dim]
    return mean, vectors[:, order], values[order]


def itq_rotation(v, iterations: int = 50, seed: int = 0) -> tuple[np.ndarray, list[float]]:
    """ITQ's orthogonal rotation of centred data `v [N, c]` (Gong & Lazebnik, CVPR 2011).

    Alternately `B = sign(V R)` and the orthogonal Procrustes solution `R = U W^T` from the
    SVD `V^T B = U S W^T`, from a random orthogonal start; each step can only lower the
    quantization loss `||B - V R||_F^2`.

    Returns:
      `(R [c, c], objective)`: the loss before each update and after the last one
      (`iterations + 1` values, non-increasing).
    """
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"ITQ needs [N, c] data, got shape {v.shape}")
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((v.shape[1], v.shape[1])))
    objective = []
    for _ in range(iterations):
        projected = v @ rotation
        b = np.where(projected >= 0, 1.0, -1.0)
        objective.append(float(np.sum((b - projected) ** 2)))
        u, _, wt = np.linalg.svd(v.T @ b)
        rotation = u @ wt
    projected = v @ rotation
    objective.append(float(np.sum((np.where(projected >= 0, 1.0, -1.0) - projected) ** 2)))
    return rotation, objective


class LSH:
    """Sign random projections (Charikar 2002) of mean-centred features.

    Args:
      bits: code length.
      seed: seeds the Gaussian projection.
    """

    def __init__(self, bits: int, seed: int = 0):
        self.bits = int(bits)
        self.seed = seed

    def fit(self, x) -> LSH:
        x = _features(x)
        self.mean_ = x.mean(axis=0)
        rng = np.random.default_rng(self.seed)
        self.projection_ = rng.standard_normal((x.shape[1], self.bits))
        return self

    def encode(self, x) -> np.ndarray:
        return ((_features(x) - self.mean_) @ self.projection_ > 0).astype(np.uint8)


class PCAITQ:
    """PCA followed by iterative quantization (Gong & Lazebnik, CVPR 2011).

    PCA to `bits` dimensions, `V = (X - mean) W`; then alternately `B = sign(V R)` and the
    orthogonal Procrustes rotation `R = U W^T` from the SVD `V^T B = U S W^T`, which minimizes
    the quantization loss `||B - V R||_F^2` (recorded in `objective_`, non-increasing).

    Args:
      bits: code length (<= the feature dimension).
      iterations: ITQ iterations (the paper's 50).
      seed: seeds the initial random rotation.
    """

    def __init__(self, bits: int, iterations: int = 50, seed: int = 0):
        self.bits = int(bits)
        self.iterations = int(iterations)
        self.seed = seed

    def fit(self, x) -> PCAITQ:
        x = _features(x)
        self.mean_, self.components_, _ = pca(x, self.bits)
        v = (x - self.mean_) @ self.components_.astype(np.float32)
        self.rotation_, self.objective_ = itq_rotation(v, self.iterations, self.seed)
        return self

    def encode(self, x) -> np.ndarray:
        v = (_features(x) - self.mean_) @ self.components_
        return (v @ self.rotation_ >= 0).astype(np.uint8)


class SpectralHashing:
    """Spectral hashing (Weiss, Torralba & Fergus, NIPS 2008).

    PCA to `min(bits, D)` directions; along each, the 1-D Laplacian eigenfunctions of a
    uniform distribution on the data's range `[a, b]`, `sin(pi/2 + k pi (x - a) / (b - a))`
    with eigenvalue growing as `(k / (b - a))^2`; the `bits` (direction, k >= 1) pairs with the
    smallest eigenvalues are kept and thresholded at 0.

    Args:
      bits: code length.
    """

    def __init__(self, bits: int):
        self.bits = int(bits)

    def fit(self, x) -> SpectralHashing:
        x = _features(x)
        dims = min(self.bits, x.shape[1])
        self.mean_, self.components_, _ = pca(x, dims)
        v = (x - self.mean_) @ self.components_
        eps = np.finfo(np.float64).eps
        self.low_ = v.min(axis=0) - eps
        self.high_ = v.max(axis=0) + eps
        span = self.high_ - self.low_
        max_mode = int(np.ceil((self.bits + 1) * span.max() / span.min()))
        modes = np.arange(1, max_mode + 1)
        # omega^2 of every (direction, mode) pair, smallest first.
        omega = (modes[None, :] * np.pi / span[:, None]) ** 2
        direction, mode = np.unravel_index(np.argsort(omega, axis=None)[: self.bits], omega.shape)
        self.directions_ = direction
        self.modes_ = modes[mode]
        return self

    def encode(self, x) -> np.ndarray:
        v = (_features(x) - self.mean_) @ self.components_
        v = v[:, self.directions_] - self.low_[self.directions_]
        span = (self.high_ - self.low_)[self.directions_]
        y = np.sin(np.pi / 2 + self.modes_ * np.pi * v / span)
        return (y > 0).astype(np.uint8)
