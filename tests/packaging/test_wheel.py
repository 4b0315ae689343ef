"""What `pip install` gives a user: the built wheel, in a fresh virtual environment, runs the app and trains.

The wheel is built from this checkout, installed with the ``app`` and ``tf`` extras (pinned by
requirements.txt) into a new venv, and used from an empty folder, so nothing of the checkout can
stand in for what the wheel lacks: ``rmlp samples`` finds the bundled data, ``rmlp train`` trains
on it, and ``rmlp app`` serves every page to Chromium.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, app_command, free_port, serving  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
#: Each page (its address) and the title it shows.
PAGES = {"": "Design a residual MLP", "data": "Data", "train": "Train", "runs": "Runs",
         "search": "Search for a better design", "export": "Export", "learn": "Learn: the residual MLP"}

pytestmark = [pytest.mark.slow, pytest.mark.packaging]


def _run(args: list[Any], cwd: Path, timeout: float = 900, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", PIP_DISABLE_PIP_VERSION_CHECK="1")
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the fresh venv's bin folder, an empty working folder) with the built wheel installed."""
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "-q", "-w", dist], cwd=ROOT)
    (wheel,) = dist.glob("rmlp-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("designer_app/app.py", "designer_app/pages/search.py", "designer_app/streamlit.toml",
                   "rmlp/sample_data/wine.csv", "rmlp/base/applications_table.json",
                   "rmlp/export/templates/model.py.j2"):
        assert needed in names, needed
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", venv], cwd=ROOT)
    _run([venv / "bin" / "python", "-m", "pip", "install", "-q", f"{wheel}[app,tf]", "-c", ROOT / "requirements.txt"],
         cwd=venv)
    yield venv / "bin", tmp_path_factory.mktemp("work")


def test_the_wheel_finds_its_samples_and_trains_on_one(installed: tuple[Path, Path]) -> None:
    bin_dir, work = installed
    listing = _run([bin_dir / "rmlp", "samples"], cwd=work).stdout
    assert "wine.csv" in listing and "--target target" in listing and str(ROOT) not in listing
    wine = _run([bin_dir / "rmlp", "samples", "--path", "wine.csv"], cwd=work).stdout.strip()
    assert Path(wine).is_file() and "site-packages" in wine
    _run([bin_dir / "rmlp", "init", "-o", "spec.json", "--preset", "small_tabular"], cwd=work)
    _run([bin_dir / "rmlp", "train", "spec.json", "--data", wine, "--target", "target", "--epochs", "2"], cwd=work)
    (run,) = (work / "runs").iterdir()
    assert (run / "model.keras").is_file() and (run / "metrics.json").is_file()


def test_the_installed_app_serves_every_page(installed: tuple[Path, Path]) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (run scripts/install_system_packages.sh)")
    sync_api = pytest.importorskip("playwright.sync_api")
    bin_dir, work = installed
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", RMLP_RUNS_DIR=str(work / "runs"))
    command = app_command([str(bin_dir / "rmlp")], port)
    with serving(command, port, work, env, work / "app.log") as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(90_000)
        for path, title in PAGES.items():
            page.goto(f"{url}/{path}")
            page.get_by_role("heading", name=title, exact=True).wait_for()
            nav = page.get_by_test_id("stSidebarNav")
            for label in ("Design", "Data", "Train", "Runs", "Search", "Export", "Learn"):
                assert nav.get_by_text(label, exact=True).count() == 1, (path, label)
            exceptions = page.get_by_test_id("stException")
            assert exceptions.count() == 0, (path, exceptions.first.inner_text())
        browser.close()
    assert "Traceback" not in (work / "app.log").read_text()
