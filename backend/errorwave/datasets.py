"""Built-in datasets, generated from a seed (no downloads): xor, circles, spirals, digits."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SHAPES = {"xor": (2, 2), "circles": (2, 2), "spirals": (2, 2), "digits": (64, 10)}


def dataset_shape(name: str) -> tuple[int, int]:
    """(features, classes)."""
    return SHAPES[name]


@lru_cache(maxsize=32)
def load(name: str, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features (float64, [n, d]) and class labels ([n]), shuffled by `seed`."""
    rng = np.random.default_rng(seed)
    if name == "xor":
        x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        y = np.array([0, 1, 1, 0])
    elif name == "circles":
        from sklearn.datasets import make_circles

        x, y = make_circles(n_samples=samples, noise=0.08, factor=0.5, random_state=seed)
    elif name == "spirals":
        x, y = _spirals(samples, rng)
    elif name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        x, y = d.data / 16.0, d.target
    else:
        raise KeyError(name)
    perm = rng.permutation(len(x))
    x, y = np.asarray(x, dtype=np.float64)[perm], np.asarray(y)[perm]
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def _spirals(samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals with a little noise, radius up to 1."""
    half = samples // 2
    t = np.sqrt(rng.uniform(0.05, 1.0, half)) * 3 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(0, 0.02, (2 * half, 2))
    y = np.concatenate([np.zeros(half, int), np.ones(half, int)])
    return x, y


def example(name: str, samples: int, seed: int, index: int, output_size: int
            ) -> tuple[list[float], list[float], int]:
    """Features, the target encoded for an output of `output_size` units, and the
    index actually used (wrapped around the dataset's length)."""
    x, y = load(name, samples, seed)
    i = index % len(x)
    label = int(y[i])
    if output_size == 1:
        target = [float(label)]
    else:
        target = [0.0] * output_size
        target[label] = 1.0
    return x[i].tolist(), target, i
