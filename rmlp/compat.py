"""Every use of a dependency's private API, in one place, each behind the versions it was written for.

rmlp reaches into four libraries where their public API has no way to do a job well:

* Keras: search trials swap an Adam/AdamW object's ``_backend_update_step`` and ``_clip_gradients``
  for fused updates (:mod:`rmlp.keras.fused`);
* Streamlit: the app replaces ``script_runner._clean_problem_modules``, which would clear Keras's
  session after every rerun beside a running training (:mod:`designer_app.jobs`);
* ipykernel: the notebook's Stop button forgets a comm's ``_reply_subshell_id`` so a click is handled
  while the cell runs (:mod:`rmlp.notebook.live`);
* Optuna: a search fails the trials of dead workers through ``study._storage`` and a trial's
  ``_trial_id`` (:mod:`rmlp.search.study`).

Each :class:`Patch` names the versions it was tested on. On any other version the patch is not made:
the public behaviour stays (said in :attr:`Patch.fallback`), and a log record says so once per
process (logger ``rmlp.compat``; no Python warning). The lowest layer: imports nothing of rmlp, and
each library only inside the function that patches it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["IPYKERNEL_SUBSHELL", "KERAS_OPTIMIZER_STEP", "OPTUNA_STORAGE", "PATCHES", "STREAMLIT_CLEANUP", "Patch",
           "fail_stale_trials", "fail_trial", "forget_reply_subshell", "installed_version", "patch_optimizer_step",
           "replace_after_run_cleanup", "study_storage", "supported"]

LOG = logging.getLogger("rmlp.compat")

Version = tuple[int, ...]


@dataclass(frozen=True)
class Patch:
    """One use of a library's private API: which versions it was written for and what happens elsewhere."""

    name: str
    package: str  # the distribution whose version is checked
    since: Version  # the first version tested (inclusive)
    before: Version  # the first version not tested (exclusive); pyproject.toml's upper bound
    fallback: str  # the public behaviour kept on other versions, in words


KERAS_OPTIMIZER_STEP = Patch(
    "fused Adam/AdamW updates in search trials", "keras", (3, 15), (3, 16),
    "search trials use Keras's own Adam update (the same results, slower to trace)")
STREAMLIT_CLEANUP = Patch(
    "the app's light after-run cleanup", "streamlit", (1, 67), (1, 68),
    "Streamlit clears Keras's session after every rerun, which slows a training that runs beside the page")
IPYKERNEL_SUBSHELL = Patch(
    "the notebook Stop button on a kernel subshell", "ipykernel", (7,), (8,),
    "a click on Stop while the cell runs is handled when the cell ends (the kernel's interrupt still stops)")
OPTUNA_STORAGE = Patch(
    "failing the trials of a dead search worker at once", "optuna", (4, 2), (6,),
    "the trials of a dead worker are failed by Optuna's heartbeat check where the storage has one")
PATCHES = (KERAS_OPTIMIZER_STEP, STREAMLIT_CLEANUP, IPYKERNEL_SUBSHELL, OPTUNA_STORAGE)

_SAID: set[str] = set()


def installed_version(package: str) -> Version | None:
    """The installed version's leading numbers (``"1.68.0rc1"`` -> (1, 68, 0)); None when not installed."""
    try:
        text = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
    found = re.match(r"\d+(?:\.\d+)*", text)
    return tuple(int(part) for part in found.group(0).split(".")) if found else None


def supported(patch: Patch) -> bool:
    """Whether the installed version is one ``patch`` was written for; once per patch, a log record if not."""
    version = installed_version(patch.package)
    if version is not None and patch.since <= version < patch.before:
        return True
    if patch.name not in _SAID:
        _SAID.add(patch.name)
        shown = ".".join(map(str, version)) if version else "unknown"
        LOG.warning("rmlp: %s is off with %s %s (written for %s up to %s): %s.", patch.name, patch.package, shown,
                    ".".join(map(str, patch.since)), ".".join(map(str, patch.before)), patch.fallback)
    return False


# ---------------------------------------------------------------------- Keras
def patch_optimizer_step(optimizer: Any, update_step: Callable[..., Any], weight_decay: Callable[..., Any],
                         clip_gradients: Callable[..., Any]) -> bool:
    """Give one optimizer object these update, weight-decay and clipping methods; False where not made.

    The originals stay reachable as ``_plain_clip_gradients`` (the fused clipping falls back on it).
    """
    names = ("_backend_update_step", "_apply_weight_decay", "_clip_gradients")
    if not supported(KERAS_OPTIMIZER_STEP) or not all(hasattr(optimizer, name) for name in names):
        return False
    optimizer._backend_update_step = types.MethodType(update_step, optimizer)
    optimizer._apply_weight_decay = types.MethodType(weight_decay, optimizer)
    optimizer._plain_clip_gradients = optimizer._clip_gradients
    optimizer._clip_gradients = types.MethodType(clip_gradients, optimizer)
    return True


# ---------------------------------------------------------------------- Streamlit
def replace_after_run_cleanup(cleanup: Callable[[], None]) -> bool:
    """Make ``cleanup`` what Streamlit runs after each script run (idempotent); False where not made."""
    if not supported(STREAMLIT_CLEANUP):
        return False
    from streamlit.runtime.scriptrunner import script_runner

    if not hasattr(script_runner, "_clean_problem_modules"):
        return False
    if script_runner._clean_problem_modules is not cleanup:
        script_runner._clean_problem_modules = cleanup
    return True


# ---------------------------------------------------------------------- ipykernel
def forget_reply_subshell(comm: Any) -> bool:
    """Forget the kernel subshell a comm answers on, so messages on any subshell reach it; False if not done.

    Kernels without subshells have no such route, and nothing changes.
    """
    lock = getattr(comm, "_reply_subshell_lock", None)
    if comm is None or lock is None or not supported(IPYKERNEL_SUBSHELL):
        return False
    with lock:
        if hasattr(comm, "_reply_subshell_id"):
            del comm._reply_subshell_id
    return True


# ---------------------------------------------------------------------- Optuna
def study_storage(study: Any) -> Any | None:
    """The storage behind an Optuna study; None on versions this was not written for."""
    return getattr(study, "_storage", None) if supported(OPTUNA_STORAGE) else None


def fail_trial(study: Any, trial: Any) -> Any | None:
    """Mark a RUNNING trial FAIL through the study's storage; the trial as stored afterwards, or None.

    None when another process finished it first, or on an Optuna version this was not written for
    (then :func:`fail_stale_trials` is left to fail it by its heartbeat).
    """
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    storage = study_storage(study)
    trial_id = getattr(trial, "_trial_id", None)
    if storage is None or trial_id is None:
        return None
    try:
        if not storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
            return None
    except UpdateFinishedTrialError:
        return None  # another worker's heartbeat check got there first
    return storage.get_trial(trial_id)


def fail_stale_trials(study: Any) -> None:
    """Optuna's public heartbeat check (experimental in Optuna, so its warning is kept quiet here)."""
    from optuna.storages import fail_stale_trials as optuna_fail_stale

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optuna_fail_stale(study)
