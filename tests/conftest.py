"""Shared fixtures and settings for the test suite."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# The app's upload folders of this test run live apart from those of any app server running on this
# machine (a test that sweeps uploads never touches a real server's), and go when the run ends.
_UPLOADS = tempfile.mkdtemp(prefix="rmlp-test-uploads-")
os.environ["RMLP_UPLOADS_DIR"] = _UPLOADS
atexit.register(shutil.rmtree, _UPLOADS, True)
# No server settings, password or storage allowance of the shell leak into the tests.
for _name in ("RMLP_APP_SETTINGS", "RMLP_APP_PASSWORD", "RMLP_APP_ALLOW_STORAGE"):
    os.environ.pop(_name, None)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = ROOT / "sample_data"


@pytest.fixture
def sample_data() -> Path:
    return SAMPLE_DATA
