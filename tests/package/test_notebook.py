"""The README's notebook, executed headlessly (nbclient) by a kernel of a fresh environment
where the wheel is installed with its [notebook] extra: the explorer inline (an iframe on
the page's permalink, served by a local server that local pages may frame), the trajectory
as a DataFrame and a plotly figure."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from errorwave.notebook import decode_config, resolve_config
from errorwave.trajectory import COLUMNS, HEADER
from tests.package.conftest import Installed

ROOT = Path(__file__).resolve().parents[2]


def readme_notebook() -> list[str]:
    """The README's five lines (its python block under "In a notebook"), a cell each."""
    text = (ROOT / "README.md").read_text().split("## In a notebook", 1)[1]
    block = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


CHECKS = [
    "df.head(3)",
    # what the test checks from inside the kernel, while its server runs
    '''import errorwave, json, urllib.request
from errorwave.notebook import server
page = urllib.request.urlopen(server().url + "/", timeout=10)
print(json.dumps({"file": errorwave.__file__, "status": page.status,
                  "csp": page.headers["Content-Security-Policy"], "columns": list(df.columns),
                  "steps": sorted(set(df.t)), "reused": server() is server()}))''',
]


def outputs_of(cell: nbformat.NotebookNode) -> dict[str, str]:
    """mime type -> content of a cell's displayed outputs (and 'stdout')."""
    got: dict[str, str] = {}
    for out in cell.outputs:
        if out.output_type == "stream":
            got[out.name] = got.get(out.name, "") + out.text
        elif out.output_type in ("display_data", "execute_result"):
            for mime, content in out.data.items():
                got[mime] = content if isinstance(content, str) else json.dumps(content)
        elif out.output_type == "error":
            raise AssertionError("\n".join(out.traceback))
    return got


def kernel_for(installed: Installed, folder: Path) -> str:
    """A kernelspec that starts the fresh environment's Python (found through JUPYTER_PATH)."""
    spec = folder / "kernels" / "errorwave-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(installed.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "errorwave (installed wheel)", "language": "python",
        "env": {"PYTHONNOUSERSITE": "1", "PYTHONPATH": "", "ERRORWAVE_WORKERS": "1",
                "ERRORWAVE_DATA": str(folder / "data")},
    }))
    return "errorwave-test"


def test_the_readme_notebook_runs_in_a_fresh_environment(installed_notebook: Installed, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    lines = readme_notebook()
    assert len(lines) == 5 and lines[2].startswith("show(") and lines[4].startswith("plots.divergence(df)")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in lines + CHECKS])
    client = NotebookClient(nb, kernel_name=kernel_for(installed_notebook, tmp_path), timeout=120,
                            startup_timeout=60,
                            resources={"metadata": {"path": str(installed_notebook.workdir)}})
    client.execute()
    nbformat.validate(nb)
    _, _, shown, _, figure, table, checks = (outputs_of(c) for c in nb.cells)

    # show(): an iframe on the page's permalink carrying the preset's configuration
    src = html.unescape(re.search(r'<iframe[^>]*src="([^"]+)"', shown["text/html"]).group(1))
    m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/#v=1&c=([A-Za-z0-9_-]+)", src)
    assert m, src
    assert decode_config(m.group(2)) == resolve_config("zil-mlp")

    # the trajectory: the shared header first, then the divergence columns
    header = re.findall(r"<th>([^<]+)</th>", table["text/html"])
    assert tuple(h for h in header if h in COLUMNS) == COLUMNS

    # a plotly figure with a line per non-input node and the all-parameters line
    plotly = json.loads(figure["application/vnd.plotly.v1+json"])
    assert [t["name"] for t in plotly["data"]] == ["y", "h2", "h1", "all params"]

    got = json.loads(checks["stdout"])
    assert Path(got["file"]).resolve().is_relative_to(installed_notebook.root.resolve())
    assert got["status"] == 200 and got["reused"]
    assert "frame-ancestors 'self' http://localhost:* http://127.0.0.1:*" in got["csp"]
    assert tuple(got["columns"][:7]) == HEADER and got["steps"] == [0, 1, 2]
