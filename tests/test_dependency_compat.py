"""rmlp.compat: each private-API patch is made only on the versions it was written for, else the public behaviour."""

from __future__ import annotations

import logging
import re
import threading
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from rmlp import compat

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every patched library at a version no patch was written for (and each says so afresh)."""
    monkeypatch.setattr(compat, "installed_version", lambda package: (99, 0))
    monkeypatch.setattr(compat, "_SAID", set())


def test_the_installed_libraries_are_ones_the_patches_were_written_for() -> None:
    for patch in compat.PATCHES:
        if compat.installed_version(patch.package) is not None:
            assert compat.supported(patch), patch


@pytest.mark.parametrize("patch", compat.PATCHES, ids=lambda p: p.package)
def test_pyproject_bounds_the_patched_libraries_where_the_patches_were_tested(patch: compat.Patch) -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pins = [pin for group in extras.values() for pin in group if re.match(rf"{patch.package}\b", pin)]
    bound = ".".join(map(str, patch.before))
    assert pins and all(f"<{bound}" in pin.replace(" ", "") for pin in pins), pins


def test_a_version_it_was_not_written_for_is_said_once_in_the_log(unsupported: None,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="rmlp.compat"):
        assert not compat.supported(compat.OPTUNA_STORAGE)
        assert not compat.supported(compat.OPTUNA_STORAGE)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "optuna 99.0" in said[0] and compat.OPTUNA_STORAGE.fallback in said[0]


def test_supported_versions_say_nothing(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compat, "installed_version", lambda package: (3, 15, 1))
    with caplog.at_level(logging.DEBUG, logger="rmlp.compat"):
        assert compat.supported(compat.KERAS_OPTIMIZER_STEP)
    assert not caplog.records


def test_keras_optimizer_keeps_its_own_update_on_another_version(unsupported: None) -> None:
    keras = pytest.importorskip("keras")
    from rmlp.keras.fused import fuse_adam

    optimizer = fuse_adam(keras.optimizers.Adam(1e-3, clipnorm=1.0))
    assert not hasattr(optimizer, "_plain_clip_gradients")
    assert optimizer._clip_gradients.__func__ is type(optimizer)._clip_gradients


def test_keras_optimizer_is_fused_on_the_tested_version() -> None:
    keras = pytest.importorskip("keras")
    from rmlp.keras.fused import fuse_adam

    optimizer = fuse_adam(keras.optimizers.Adam(1e-3, clipnorm=1.0))
    assert hasattr(optimizer, "_plain_clip_gradients")


def test_streamlit_keeps_its_own_cleanup_on_another_version(unsupported: None) -> None:
    pytest.importorskip("streamlit")
    from streamlit.runtime.scriptrunner import script_runner

    before = script_runner._clean_problem_modules
    assert not compat.replace_after_run_cleanup(lambda: None)
    assert script_runner._clean_problem_modules is before


def test_ipykernel_comm_keeps_its_route_on_another_version(unsupported: None) -> None:
    comm = SimpleNamespace(_reply_subshell_lock=threading.Lock(), _reply_subshell_id="main")
    assert not compat.forget_reply_subshell(comm)
    assert comm._reply_subshell_id == "main"


def test_ipykernel_comm_forgets_its_route_on_the_tested_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compat, "installed_version", lambda package: (7, 4, 0))
    comm = SimpleNamespace(_reply_subshell_lock=threading.Lock(), _reply_subshell_id="main")
    assert compat.forget_reply_subshell(comm)
    assert not hasattr(comm, "_reply_subshell_id")


def test_a_kernel_without_subshells_is_left_alone_and_says_nothing(caplog: pytest.LogCaptureFixture,
                                                                    unsupported: None) -> None:
    with caplog.at_level(logging.DEBUG, logger="rmlp.compat"):
        assert not compat.forget_reply_subshell(SimpleNamespace())
    assert not caplog.records


def _study_with_a_lost_trial() -> tuple[object, object]:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    trial = study.ask()
    trial.set_user_attr("worker", "host:1")
    return study, trial


def test_optuna_lost_trials_are_left_to_the_heartbeat_on_another_version(unsupported: None) -> None:
    from optuna.trial import TrialState

    from rmlp.search.study import recover_lost_trials

    study, trial = _study_with_a_lost_trial()
    assert recover_lost_trials(study, {"host:1"}, retry=False) == []
    assert study.get_trials()[0].state == TrialState.RUNNING  # type: ignore[attr-defined]


def test_optuna_lost_trials_are_failed_at_once_on_the_tested_version() -> None:
    from optuna.trial import TrialState

    from rmlp.search.study import recover_lost_trials

    study, trial = _study_with_a_lost_trial()
    assert recover_lost_trials(study, {"host:1"}, retry=False) == [0]
    assert study.get_trials()[0].state == TrialState.FAIL  # type: ignore[attr-defined]
