"""The one place that compares a rule with backprop (docs/rules.md).

Metrics of a rule's signal `a` against the reference `b`: cosine similarity, relative
L2 distance ||a - b|| / ||b|| and max-abs difference. Zero vs zero is exact (1, 0, 0);
zero vs nonzero has cosine 0; rel_l2 is None (undefined) when only the reference is
zero; anything non-finite gives None.
"""

from __future__ import annotations

import math

import numpy as np
import torch

Metrics = dict[str, float | None]


def _metrics(dot: float, na2: float, nb2: float, dd2: float, max_abs: float) -> Metrics:
    if not all(math.isfinite(v) for v in (dot, na2, nb2, dd2, max_abs)):
        # Non-finite signals, or finite ones whose squares overflow: no honest number.
        return {"cosine": None, "rel_l2": None, "max_abs": None if not math.isfinite(max_abs) else max_abs}
    if na2 == 0.0 and nb2 == 0.0:
        return {"cosine": 1.0, "rel_l2": 0.0, "max_abs": 0.0}
    cosine: float | None = 0.0 if na2 == 0.0 or nb2 == 0.0 else dot / (math.sqrt(na2) * math.sqrt(nb2))
    rel = None if nb2 == 0.0 else math.sqrt(dd2) / math.sqrt(nb2)
    if cosine is not None and not math.isfinite(cosine):
        cosine = None
    if rel is not None and not math.isfinite(rel):
        rel = None
    return {"cosine": None if cosine is None else max(-1.0, min(1.0, cosine)), "rel_l2": rel,
            "max_abs": max_abs}


def flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    if not tensors:
        return torch.zeros(0, dtype=torch.float64)
    return torch.cat([t.detach().reshape(-1) for t in tensors]).to(torch.float64)


def compare(a: torch.Tensor, b: torch.Tensor) -> Metrics:
    """Metrics of one pair of tensors."""
    a, b = flat([a]), flat([b])
    d = a - b
    max_abs = float(d.abs().max()) if d.numel() else 0.0
    return _metrics(float(a @ b), float(a @ a), float(b @ b), float(d @ d), max_abs)


class SegmentComparator:
    """Compares many signals with their fixed references at once (one vectorised pass per
    frame instead of a handful of tensor operations per vertex)."""

    def __init__(self, lengths: list[int]):
        """Built once per graph: the segment layout does not change between examples."""
        self.n = len(lengths)
        self.seg = torch.repeat_interleave(torch.arange(self.n), torch.tensor(lengths, dtype=torch.long))
        self.last_sq: list[float] = [0.0] * self.n
        # Segments are contiguous: numpy's reduceat sums each one on its own (no cancellation
        # between segments, unlike differences of a running sum), and the products go into
        # buffers kept from step to step (fresh 100 kB temporaries cost more than the math).
        size = int(sum(lengths))
        self.contiguous = self.n > 0 and all(n > 0 for n in lengths)
        self.starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.intp) if self.n else \
            np.zeros(0, dtype=np.intp)
        self.buf = np.empty((3, size), dtype=np.float64)
        self.diff = np.empty(size, dtype=np.float64)

    def set_references(self, references: list[torch.Tensor]) -> None:
        """Once per example: backprop's numbers for that example."""
        self.ref = flat(references)
        self.ref_np = self.ref.numpy()
        self.ref_sq = torch.zeros(self.n, dtype=torch.float64).index_add_(0, self.seg, self.ref * self.ref)
        self.ref_sq_list = self.ref_sq.tolist()
        self.ref_sq_total = float(self.ref_sq.sum())

    def _sums(self, a: torch.Tensor) -> tuple[list[list[float]], list[float]]:
        """Per segment: a.ref, a.a, |a - ref|^2 and max |a - ref|."""
        if not self.contiguous:
            d = a - self.ref
            sums = torch.zeros(3, self.n, dtype=torch.float64).index_add_(
                1, self.seg, torch.stack([a * self.ref, a * a, d * d]))
            mx = torch.zeros(self.n, dtype=torch.float64).scatter_reduce_(
                0, self.seg, d.abs(), "amax", include_self=True)
            return sums.tolist(), mx.tolist()
        an, rn, buf, diff = a.numpy(), self.ref_np, self.buf, self.diff
        with np.errstate(over="ignore", invalid="ignore"):
            np.multiply(an, rn, out=buf[0])
            np.multiply(an, an, out=buf[1])
            np.subtract(an, rn, out=diff)
            np.multiply(diff, diff, out=buf[2])
            np.abs(diff, out=diff)
            seg_sums = np.add.reduceat(buf, self.starts, axis=1)
            seg_maxes = np.maximum.reduceat(diff, self.starts)
        return seg_sums.tolist(), seg_maxes.tolist()

    def __call__(self, signals: list[torch.Tensor] | torch.Tensor) -> tuple[list[Metrics], Metrics]:
        """Per-segment metrics and the metrics of all segments together (the signals as a
        list, or already flat in segment order). `last_sq` keeps each segment's ||a||^2."""
        a = signals.detach().to(torch.float64) if isinstance(signals, torch.Tensor) else flat(signals)
        (dots, na2s, dd2s), maxes = self._sums(a.contiguous())
        self.last_sq = na2s
        per = [_metrics(dots[i], na2s[i], self.ref_sq_list[i], dd2s[i], maxes[i]) for i in range(self.n)]
        total = [sum(dots), sum(na2s), sum(dd2s)]
        tmax = max(maxes, key=lambda m: (m != m, m)) if self.n else 0.0  # NaN wins
        return per, _metrics(total[0], total[1], self.ref_sq_total, total[2], tmax)
