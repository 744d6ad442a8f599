"""Build hook: copy the built page and the shared formats into the wheel.

`frontend/dist/`, `shared/presets/` and `shared/schema/` stay the only copies in the
repository; a wheel (or an sdist's wheel) gets them as `errorwave/assets/{web,presets,schema}`,
found at run time by `errorwave.resources`. An editable install copies nothing: it finds
them in the checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# (source in the checkout or sdist, destination under the package, a file that must be there)
ASSETS = [
    ("frontend/dist", "web", "index.html"),
    ("shared/presets", "presets", "zil-mlp.json"),
    ("shared/schema", "schema", "config.schema.json"),
]


class BuildPyWithAssets(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "errorwave" / "assets"
        shutil.rmtree(target, ignore_errors=True)  # a reused build/ must not keep stale files
        for source, name, required in ASSETS:
            src = ROOT / source
            if not (src / required).is_file():
                raise SystemExit(f"errorwave build: {source}/{required} is missing; build the page "
                                 "first (`make dist` runs `npm run build`)")
            shutil.copytree(src, target / name, ignore=shutil.ignore_patterns(".*"))


setup(cmdclass={"build_py": BuildPyWithAssets})
