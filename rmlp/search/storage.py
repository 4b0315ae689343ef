"""Where studies live: Optuna storage URLs, opening them (with heartbeats), and loading a stored study.

Storage is any Optuna storage URL (``sqlite:///studies/x.db``, ``postgresql+psycopg2://...``,
``mysql+pymysql://...``) or a journal file (``journal:studies/x.journal``, or a path ending in
``.journal``/``.log``). Database storages run Optuna's heartbeat: a worker that dies (on any
machine) leaves a trial whose heartbeat stops; after the grace period the next worker to start a
trial marks it FAIL and queues a copy of it (a retry).
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import time
import warnings
from pathlib import Path
from typing import Any

from rmlp.search.config import STUDIES_DIR, SearchError

#: Seconds between heartbeats of a running trial, and without one before it counts as dead
#: (environment variables RMLP_SEARCH_HEARTBEAT_S and RMLP_SEARCH_GRACE_S override them).
HEARTBEAT_INTERVAL = 10
GRACE_PERIOD = 30
#: Key of the study user attribute holding what the search was run with.
STUDY_ATTR = "rmlp"
#: How often a failed (dead-worker) trial is queued again.
MAX_RETRY = 2

__all__ = ["STUDY_ATTR", "default_storage", "load_study", "normalize_url", "open_storage", "quiet_optuna", "safe_url",
           "storage_kind", "study_names"]

#: Database drivers SQLAlchemy can use per scheme: (driver name in the URL, module, pip package). A plain
#: ``postgresql://`` gets SQLAlchemy's default driver when it is installed, else one that is.
_DRIVERS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "postgresql": (("psycopg2", "psycopg2", "psycopg2-binary"), ("psycopg", "psycopg", "psycopg[binary]")),
    "mysql": (("mysqldb", "MySQLdb", "mysqlclient"), ("pymysql", "pymysql", "pymysql")),
}
#: Scheme spellings SQLAlchemy does not take, and what they mean.
_SCHEME_ALIASES = {"postgres": "postgresql", "pg": "postgresql"}


def quiet_optuna() -> None:
    """Optuna says only what matters to a user (errors), no experimental or future warnings."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)


def default_storage(study_name: str, workers: int = 1, directory: str | Path = STUDIES_DIR) -> str:
    """``sqlite:///studies/<name>.db`` for one process, ``journal:studies/<name>.journal`` for several."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", study_name).strip("._") or "study"
    if workers > 1:
        return f"journal:{Path(directory) / (safe + '.journal')}"
    return f"sqlite:///{Path(directory) / (safe + '.db')}"


def storage_kind(url: str) -> tuple[str, str]:
    """("journal", path) or ("rdb", sqlalchemy URL) for a storage string."""
    url = str(url).strip()
    if url.startswith("journal:"):
        return "journal", url.removeprefix("journal:").removeprefix("//")
    if "://" not in url:
        suffix = Path(url).suffix.lower()
        if suffix in (".journal", ".log", ".jsonl"):
            return "journal", url
        if suffix in (".db", ".sqlite", ".sqlite3"):
            return "rdb", f"sqlite:///{url}"
        raise SearchError(f"{url!r} is not a storage URL. Use sqlite:///FILE.db, postgresql://USER@HOST/DB, "
                          "or journal:FILE.journal.")
    return "rdb", normalize_url(url)


def _installed(module: str) -> bool:
    """Whether ``module`` can be imported (found without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def normalize_url(url: str) -> str:
    """A database URL naming a driver that is installed: ``postgresql://`` becomes ``postgresql+psycopg2://``
    or ``postgresql+psycopg://``, whichever is there (SQLAlchemy's default when both are).

    A URL naming a driver that is not installed, or a scheme with none installed, is a :class:`SearchError`
    naming the package to install.
    """
    head, sep, rest = str(url).partition("://")
    if not sep:
        return url
    scheme, _, driver = head.partition("+")
    scheme = _SCHEME_ALIASES.get(scheme.lower(), scheme.lower())
    drivers = _DRIVERS.get(scheme)
    if drivers is None:
        return f"{scheme}{'+' + driver if driver else ''}://{rest}"
    present = [d for d in drivers if _installed(d[1])]
    if driver:
        wanted = next((d for d in drivers if d[0] == driver.lower()), None)
        if wanted is not None and wanted not in present:
            raise SearchError(_missing_driver(url, [wanted], present, scheme))
        return f"{scheme}+{driver}://{rest}"
    if not present:
        raise SearchError(_missing_driver(url, list(drivers), present, scheme))
    default = _default_driver(scheme)
    chosen = next((d for d in present if d[0] == default), present[0])
    return f"{scheme}+{chosen[0]}://{rest}"


def _default_driver(scheme: str) -> str:
    """The driver SQLAlchemy uses for a plain ``scheme://`` URL (psycopg2 before SQLAlchemy 2.1, psycopg after)."""
    try:
        from sqlalchemy.dialects import registry

        return str(registry.load(scheme).driver)
    except Exception:  # noqa: BLE001 - no SQLAlchemy, or an unknown scheme: the table's first
        return _DRIVERS[scheme][0][0]


def _missing_driver(url: str, wanted: list[tuple[str, str, str]], present: list[tuple[str, str, str]],
                    scheme: str) -> str:
    needs = " or ".join(f"{pip} (pip install '{pip}')" for _, _, pip in wanted)
    text = f"No database driver for {safe_url(url)}: it needs the Python package {needs}."
    if present:
        text += f" {present[0][1]} is installed: use {scheme}+{present[0][0]}://... instead."
    return text


def retry_callback() -> Any:
    """Optuna's callback that queues a copy of a trial whose worker died (at most MAX_RETRY times)."""
    import optuna

    cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None) or optuna.storages.RetryFailedTrialCallback
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(max_retry=MAX_RETRY)


def open_storage(url: str, heartbeat: bool = True) -> Any:
    """An Optuna storage for ``url``: RDB storages get heartbeats and retries of dead workers' trials."""
    import optuna

    kind, target = storage_kind(url)
    try:
        if kind == "journal":
            from optuna.storages.journal import JournalFileBackend

            Path(target).parent.mkdir(parents=True, exist_ok=True)
            return optuna.storages.JournalStorage(JournalFileBackend(str(target)))
        kwargs: dict[str, Any] = {}
        if target.startswith("sqlite:///"):
            path = target.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
        if heartbeat:
            params = inspect.signature(optuna.storages.RDBStorage).parameters
            callback_arg = ("heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in params
                            else "failed_trial_callback")
            kwargs.update({"heartbeat_interval": int(os.environ.get("RMLP_SEARCH_HEARTBEAT_S", HEARTBEAT_INTERVAL)),
                           "grace_period": int(os.environ.get("RMLP_SEARCH_GRACE_S", GRACE_PERIOD)),
                           callback_arg: retry_callback()})
        for attempt in range(3):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return optuna.storages.RDBStorage(target, **kwargs)
            except Exception as exc:  # noqa: BLE001 - two processes creating the tables at once: try again
                if "already exists" not in str(exc) or attempt == 2:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")
    except SearchError:
        raise
    except ImportError as exc:
        missing = exc.name or "".join(re.findall(r"No module named '([^'.]+)", str(exc))[:1])
        package = next((pip for drivers in _DRIVERS.values() for _, module, pip in drivers
                        if missing.split(".")[0] == module), missing or "its database driver")
        raise SearchError(f"No database driver for {safe_url(url)}: it needs the Python package {package} "
                          f"(pip install '{package}').") from None
    except Exception as exc:  # noqa: BLE001 - any connection failure is reported in plain words
        raise SearchError(f"Cannot open the study storage {safe_url(url)}: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}. Check the URL, that the server runs "
                          "and that the database exists.") from None


def safe_url(url: str) -> str:
    """The URL without its password."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", str(url))


def study_names(storage: str) -> list[str]:
    """Names of the studies in a storage."""
    import optuna

    return [s.study_name for s in optuna.get_all_study_summaries(open_storage(storage, heartbeat=False))]


def load_study(storage: str, study_name: str | None = None) -> Any:
    """A stored study; ``study_name`` may be left out when the storage holds only one."""
    import optuna

    quiet_optuna()
    store = open_storage(storage, heartbeat=False)
    names = [s.study_name for s in optuna.get_all_study_summaries(store)]
    if study_name is None:
        if len(names) == 1:
            study_name = names[0]
        else:
            raise SearchError(f"{safe_url(storage)} holds {len(names)} studies; name one with --study "
                              f"({', '.join(names) or 'none'}).")
    if study_name not in names:
        listed = ", ".join(names) if names else "no studies at all"
        raise SearchError(f"There is no study {study_name!r} in {safe_url(storage)} (it has {listed}).")
    return optuna.load_study(study_name=study_name, storage=store)
