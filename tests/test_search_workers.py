"""Several worker processes on one study: nothing lost or duplicated, dead workers' trials retried.

Each test runs once on a journal file and once on a real PostgreSQL server. The server is a
throwaway cluster started for the session (as the ``postgres`` user when the tests run as root),
or the one named by ``RMLP_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rmlp import ModelSpec
from rmlp.search import DataSource, SearchSpace, choose, pin, run_search, span
from rmlp.search.storage import load_study

ROOT = Path(__file__).resolve().parents[1]
WINE = ROOT / "sample_data" / "wine.csv"

pytestmark = pytest.mark.slow


# ----------------------------------------------------------------------------- PostgreSQL
def _pg_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL: RMLP_TEST_POSTGRES_URL, or a throwaway cluster on a free local port."""
    given = os.environ.get("RMLP_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (scripts/install_system_packages.sh installs it).")
    base = Path(tempfile.mkdtemp(prefix="rmlp-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(base, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = base / "data"
    try:
        subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w",
                        "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off "
                        "-c max_connections=100", "start"], check=True, capture_output=True)
        subprocess.run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                        "rmlp_test"], check=True, capture_output=True)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"Could not start PostgreSQL: {exc.stderr.decode(errors='replace')}")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/rmlp_test"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["journal", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "journal":
        return f"journal:{tmp_path / 'study.journal'}"
    return request.getfixturevalue("postgres_url")


def _study_name(request: pytest.FixtureRequest) -> str:
    return f"s-{request.node.name}-{os.getpid()}-{time.time_ns()}".replace("[", "-").replace("]", "")


# ----------------------------------------------------------------------------- a tiny search
SPEC = ModelSpec(input_shape=[13], num_outputs=3, blocks=[{"layers": 1, "width": 8, "decrement": 0}],
                 final_layers=[])
SPACE = SearchSpace(params={"blocks[].width": span(4, 32), "activation": choose("relu", "gelu"),
                            "batch_size": pin(128)})


def _finished_numbers(study: Any) -> list[int]:
    return sorted(t.number for t in study.trials if t.state.name in ("COMPLETE", "PRUNED"))


def test_two_workers_finish_n_trials_none_lost_or_duplicated(storage: str, request: pytest.FixtureRequest) -> None:
    name = _study_name(request)
    result = run_search(SPEC, DataSource(str(WINE), "target"), SPACE, n_trials=4, epochs=1, storage=storage,
                        study_name=name, workers=2, seed=5, pruner="none")
    assert result.worker_exits == [0, 0]
    study = load_study(storage, name)
    trials = study.trials
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # both workers ran trials
    assert len({t._trial_id for t in trials}) == 4
    assert result.progress.done == 4


def _kill_mid_trial(storage: str, name: str, pids: list[int], timeout: float = 240) -> int:
    """Wait until one of ``pids`` is inside a trial (an epoch reported), SIGKILL it; the trial number."""
    deadline = time.time() + timeout
    study = None
    while time.time() < deadline:
        time.sleep(0.3)
        if study is None:
            with contextlib.suppress(Exception):  # the study may not exist yet
                study = load_study(storage, name)
            continue
        for t in study.get_trials(deepcopy=False):
            worker = t.user_attrs.get("worker", "")
            pid = int(worker.rsplit(":", 1)[-1]) if worker else -1
            if t.state.name == "RUNNING" and t.intermediate_values and pid in pids:
                os.kill(pid, signal.SIGKILL)
                return t.number
    raise AssertionError("no worker ever got inside a trial")


def test_a_killed_worker_does_not_stop_the_study(storage: str, request: pytest.FixtureRequest) -> None:
    name = _study_name(request)
    pids: list[int] = []
    out: dict[str, Any] = {}

    def search() -> None:
        try:
            out["result"] = run_search(
                SPEC, DataSource(str(WINE), "target"), SPACE, n_trials=4, epochs=2, storage=storage,
                study_name=name, workers=2, seed=7, pruner="none", throttle_s=0.6, poll_s=0.3,
                on_workers=lambda ps: pids.extend(p for p in ps if p not in pids))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            out["error"] = exc

    thread = threading.Thread(target=search)
    thread.start()
    try:
        while len(pids) < 2 and thread.is_alive():
            time.sleep(0.1)
        killed = _kill_mid_trial(storage, name, list(pids))
    finally:
        thread.join(timeout=400)
    assert "error" not in out, out.get("error")
    result = out["result"]
    study = load_study(storage, name)
    states = {t.number: t.state.name for t in study.trials}
    assert states[killed] == "FAIL"
    assert "RUNNING" not in states.values() and "WAITING" not in states.values()
    retries = [t for t in study.trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retries) == 1 and retries[0].state.name == "COMPLETE"
    assert retries[0].params == study.trials[killed].params  # the same design, trained again
    assert len(_finished_numbers(study)) == 4  # the study completed its 4 trials
    assert result.recovered_trials == [killed] and result.restarted_workers == 1


_MACHINE = """
import sys
from rmlp import ModelSpec
from rmlp.search import DataSource, SearchSpace, run_search
spec = ModelSpec.from_json(sys.argv[1])
space = SearchSpace.from_json(sys.argv[2])
run_search(spec, DataSource(sys.argv[3], "target"), space, n_trials=int(sys.argv[4]), epochs=3, storage=sys.argv[5],
           study_name=sys.argv[6], seed=int(sys.argv[7]), pruner="none", throttle_s=0.6)
"""


@pytest.mark.postgres
def test_heartbeat_retries_the_trial_of_a_dead_machine(postgres_url: str, request: pytest.FixtureRequest) -> None:
    """Two independent processes (as on two machines) join one study; one dies; the other retries its trial."""
    name = _study_name(request)
    env = {**os.environ, "RMLP_SEARCH_HEARTBEAT_S": "1", "RMLP_SEARCH_GRACE_S": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}

    def machine(n: int, seed: int) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", _MACHINE, SPEC.to_json(indent=None),
                                 SPACE.to_json(indent=None), str(WINE), str(n), postgres_url, name, str(seed)],
                                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    victim = machine(3, 1)
    try:
        killed = _kill_mid_trial(postgres_url, name, [victim.pid])
        victim.wait(timeout=30)
        survivor = machine(3, 2)
        _, err = survivor.communicate(timeout=400)
        assert survivor.returncode == 0, err.decode(errors="replace")[-2000:]
    finally:
        for proc in (victim,):
            if proc.poll() is None:
                proc.kill()
    study = load_study(postgres_url, name)
    states = {t.number: t.state.name for t in study.trials}
    assert states[killed] == "FAIL"
    assert "RUNNING" not in states.values()
    retries = [t for t in study.trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retries) == 1 and retries[0].state.name == "COMPLETE"
    assert len(_finished_numbers(study)) == 3  # the survivor's three trials, one of them the retry
