"""Each reproduction's fast mode writes NAME.html (self-contained) and NAME.csv and shows
the paper's qualitative result, read back from the CSV."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from errorwave import cli


def reproduce(name: str, out: Path) -> list[dict[str, str]]:
    assert cli.main(["reproduce", name, "--fast", "--out", str(out)]) == 0
    page = (out / f"{name}.html").read_text()
    assert "<script src=" not in page and "plotly" in page.lower()  # plotly.js inlined
    return list(csv.DictReader((out / f"{name}.csv").open()))


def test_fpa_steps(tmp_path: Path) -> None:
    rows = reproduce("fpa-steps", tmp_path)
    assert list(rows[0]) == ["layers", "step_size", "t_over_l", "cosine", "test_accuracy", "epoch"]
    at_l = {float(r["step_size"]): float(r["cosine"]) for r in rows if float(r["t_over_l"]) == 1.0}
    assert set(at_l) == {1.0, 0.5, 0.1}
    assert at_l[1.0] == pytest.approx(1.0, abs=1e-9)  # step 1 is backprop at T = L
    assert at_l[0.1] < at_l[0.5] < 0.999  # smaller steps have not arrived


def test_zil_ablation(tmp_path: Path) -> None:
    rows = reproduce("zil-ablation", tmp_path)
    final = {}
    for r in rows:
        final[(r["variant"], r["dtype"])] = float(r["distance"])
    assert final[("Z-IL (all three)", "float64")] < 1e-10
    assert final[("Z-IL (all three)", "float32")] < 1e-3
    for (variant, dtype), d in final.items():
        if variant != "Z-IL (all three)":
            assert d > 100 * final[("Z-IL (all three)", dtype)] and d > 1e-4, (variant, dtype)


def test_pc_variance(tmp_path: Path) -> None:
    rows = reproduce("pc-variance", tmp_path)
    ks = [float(r["k"]) for r in rows]
    rel = [float(r["rel_l2"]) for r in rows]
    assert ks == sorted(ks) and len(ks) >= 3
    for i in range(1, len(ks) - 1):  # from k = 10 on (k = 1 is not yet asymptotic)
        k0, k1, r0, r1 = ks[i], ks[i + 1], rel[i], rel[i + 1]
        fall = math.log10(r0 / r1) / math.log10(k1 / k0)
        assert 0.7 < fall < 1.3  # about 10x per 10x of k


def test_fa_alignment(tmp_path: Path) -> None:
    rows = reproduce("fa-alignment", tmp_path)
    angles = [float(r["angle"]) for r in rows if r["layer"] == "h1"]
    early, late = angles[: max(1, len(angles) // 10)], angles[-max(1, len(angles) // 5):]
    assert sum(late) / len(late) < sum(early) / len(early) - 10  # the angle closes


def test_an_unknown_reproduction_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["reproduce", "nope", "--fast"]) == 2
    assert "zil-ablation" in capsys.readouterr().err
