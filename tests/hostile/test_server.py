"""What the app's server promises to the people who run it and to the people who visit it.

To the operator:

* ``rmlp app`` listens on 127.0.0.1 only, unless ``--host`` says otherwise; then it prints a token
  visitors must give (or uses ``RMLP_APP_PASSWORD``), and serves without one only with ``--no-auth``.
* Visitors never see a traceback or an exception's text (``client.showErrorDetails = none``).
* SIGTERM (or Ctrl-C) to ``rmlp app`` stops its Streamlit server too, and ``rmlp app`` waits for it.
* Every limit is a setting with an ``rmlp app`` option, and every refusal names the limit and the option.
* A table with millions of columns is refused from its header in well under a second, with no
  per-column work (bounded peak memory); cached tables are bounded in bytes and released with their session.
* A ``.keras`` zip bomb is refused from its declared sizes, without unpacking anything to disk, and the
  check is remembered by content hash.
* On start-up, run folders a dead server left "running" are marked "interrupted" with the command that
  resumes them, and upload folders whose server is gone are removed.
* A job whose session ended stops after the grace period, with a reason its returning user is shown;
  jobs beyond the per-session and per-server limits do not start.

To each visitor:

* Nothing but the sign-in page runs before the password was given.
* A link carries a design and a data set by name or content hash, never a job id or a path.
* A design's base-model path outside the visitor's session folder and the samples is left out, with
  the same words whether that file exists or not; nothing of it (name, size) is shown.
* Studies live in the server's studies folder under a name scoped to the visitor; a storage URL is used
  only when the operator allowed it, and nothing is created elsewhere.
* A design's name is shown as written, never as a link or markup.
* On a server that listens beyond this machine, the Runs page lists only the runs the visitor's own
  browser started (``rmlp app --share-runs`` shows every run to everyone); on 127.0.0.1 it lists all.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "designer_app" / "app.py"
sys.path.insert(0, str(ROOT / "tests" / "app"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from apptest_helpers import open_page, widget  # noqa: E402
from browser_helpers import free_port, wait_healthy  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402


# ---------------------------------------------------------------------- helpers
def _listening(port: int) -> set[str]:
    """The local addresses a socket listens on at ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, state = fields[1], fields[3]
            host, hex_port = address.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                if len(host) == 8:
                    found.add(".".join(str(int(host[i:i + 2], 16)) for i in (6, 4, 2, 0)))
                else:
                    found.add("::1" if host.endswith("01000000") and set(host[:24]) == {"0"} else
                              "::" if set(host) == {"0"} else host)
    return found


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.is_file() and stat.read_text().split(") ")[-1].startswith("Z"))


class _App:
    """``rmlp app`` started by a test: its process, port, and what it printed."""

    def __init__(self, args: list[str], tmp: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.log = tmp / f"app-{self.port}.log"
        full_env = dict(os.environ, RMLP_RUNS_DIR=str(tmp / "runs"), TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
        command = [sys.executable, "-m", "rmlp.cli", "app", "--headless", "--port", str(self.port), *args,
                   "--", "--server.fileWatcherType", "none"]
        self._out = self.log.open("w")
        self.children: list[int] = []
        self.process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=self._out, stderr=subprocess.STDOUT)

    def wait_serving(self, host: str = "127.0.0.1") -> None:
        wait_healthy(f"http://{host}:{self.port}", self.process)
        self.children = _children(self.process.pid)  # killed in teardown even if they outlive their parent

    def stop(self) -> None:
        for pid in {*self.children, *_children(self.process.pid), self.process.pid}:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(10)
        self._out.close()

    def output(self) -> str:
        self._out.flush()
        return self.log.read_text()


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Any]:
    """Start ``rmlp app`` servers; every one is killed (with its children) when the test ends."""
    started: list[_App] = []

    def start(*args: str, env: dict[str, str] | None = None) -> _App:
        app = _App(list(args), tmp_path, env)
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("RMLP_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("RMLP_STUDIES_DIR", str(tmp_path / "studies"))
    monkeypatch.chdir(ROOT)
    return AppTest.from_file(str(APP), default_timeout=60)


def _limits(monkeypatch: pytest.MonkeyPatch, **values: Any) -> None:
    """Run the app's code with these server limits (as rmlp app --OPTION would set them)."""
    from designer_app import server

    monkeypatch.setenv("RMLP_APP_SETTINGS", json.dumps(values))
    server.limits.cache_clear()  # and again when the test ends (the fixture below)


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    from designer_app import server

    server.limits.cache_clear()
    yield
    server.limits.cache_clear()


# ====================================================================== to the operator
def test_rmlp_app_listens_on_this_machine_only_unless_told(start_app: Any) -> None:
    app = start_app()
    app.wait_serving()
    assert _listening(app.port) == {"127.0.0.1"}, app.output()
    assert "Network URL" not in app.output()


def test_an_exposed_server_requires_the_token_it_printed(start_app: Any) -> None:
    app = start_app("--host", "0.0.0.0")  # noqa: S104 - the test checks what exposing does
    app.wait_serving()
    assert _listening(app.port) == {"0.0.0.0"}
    out = app.output()
    assert "visitors need this token to get in:" in out, out
    token = out.split("to get in:")[1].split()[0]
    assert len(token) >= 20
    environ = Path(f"/proc/{_children(app.process.pid)[0]}/environ").read_bytes().split(b"\0")
    assert f"RMLP_APP_PASSWORD={token}".encode() in environ  # the child asks for exactly that token


def test_no_auth_is_explicit_and_warned_about(start_app: Any) -> None:
    app = start_app("--host", "0.0.0.0", "--no-auth")  # noqa: S104
    app.wait_serving()
    out = app.output()
    assert "without a password (--no-auth)" in out and "token" not in out
    environ = Path(f"/proc/{_children(app.process.pid)[0]}/environ").read_bytes().split(b"\0")
    assert not any(e.startswith(b"RMLP_APP_PASSWORD=") for e in environ)


def test_visitors_never_see_error_details() -> None:
    from rmlp.cli.start import app_script, streamlit_command

    command = streamlit_command(app_script())
    assert command[command.index("--client.showErrorDetails") + 1] == "none"
    assert command[command.index("--server.address") + 1] == "127.0.0.1"


def test_the_streamlit_child_ends_even_when_rmlp_app_is_killed(start_app: Any) -> None:
    app = start_app()
    app.wait_serving()
    children = _children(app.process.pid)
    app.process.kill()  # SIGKILL: nothing can be passed on
    app.process.wait(10)
    deadline = time.time() + 20
    while time.time() < deadline and any(_alive(c) for c in children):
        time.sleep(0.2)
    assert children and not any(_alive(c) for c in children)


def test_sigterm_stops_the_streamlit_child_too(start_app: Any) -> None:
    app = start_app()
    app.wait_serving()
    children = _children(app.process.pid)
    assert children, "rmlp app runs Streamlit as its child"
    app.process.send_signal(signal.SIGTERM)
    app.process.wait(30)
    deadline = time.time() + 15
    while time.time() < deadline and any(_alive(c) for c in children):
        time.sleep(0.2)
    assert not any(_alive(c) for c in children), "the Streamlit child outlived rmlp app"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{app.port}/_stcore/health", timeout=2)


def test_bad_server_options_are_refused_with_a_message() -> None:
    done = subprocess.run([sys.executable, "-m", "rmlp.cli", "app", "--max-columns", "0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "max_columns" in done.stderr or "Columns" in done.stderr, done.stderr
    done = subprocess.run([sys.executable, "-m", "rmlp.cli", "app", "--allow-storage", "not-a-url", "--port",
                           str(free_port())], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "--allow-storage 'not-a-url'" in done.stderr and "Traceback" not in done.stderr


_WIDE = """
import resource, sys, time
from pathlib import Path
path = Path(sys.argv[1])
with path.open("w") as out:
    out.write(",".join(f"c{i}" for i in range(2_000_000)) + "\\n")
import pandas  # noqa: F401 - loaded before the baseline
from designer_app import datasets
from rmlp.data import DataError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    datasets.read_table(path)
    print("READ")
except DataError as exc:
    print("REFUSED", str(exc))
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"SECONDS {seconds:.3f} GROWTH_MB {(after - before) / 1024:.1f} SIZE_MB {path.stat().st_size / 2**20:.1f}")
"""


def test_a_table_with_millions_of_columns_is_refused_in_a_moment(tmp_path: Path) -> None:
    """A 17 MB header of 2,000,000 columns took ~6 minutes and 9 GB; now its header is counted, and that is all."""
    done = subprocess.run([sys.executable, "-c", _WIDE, str(tmp_path / "wide.csv")], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert "REFUSED" in done.stdout, done.stdout + done.stderr
    assert "2,000,000 columns" in done.stdout and "--max-columns" in done.stdout
    figures = done.stdout.split()
    seconds, growth = float(figures[figures.index("SECONDS") + 1]), float(figures[figures.index("GROWTH_MB") + 1])
    assert seconds < 3.0, done.stdout
    assert growth < 150, done.stdout  # the file is read once (17 MB); nothing per column is made


def test_a_table_is_checked_for_rows_and_cells_before_it_is_parsed(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from designer_app import datasets
    from rmlp.data import DataError

    table = tmp_path / "t.csv"
    table.write_text("a,b,c\n" + "1,2,3\n" * 500)
    _limits(monkeypatch, max_rows=100)
    with pytest.raises(DataError, match="500 data rows.*limit of 100 rows") as refused:
        datasets.read_table(table)
    assert "rmlp app --upload-mb, --max-columns, --max-rows, --max-cells" in refused.value.fix
    _limits(monkeypatch, max_cells=1000)
    with pytest.raises(DataError, match="1,500 cells, more than the limit of 1,000 cells"):
        datasets.read_table(table)
    _limits(monkeypatch)
    assert len(datasets.read_table(table)) == 500


def test_uploads_are_limited_per_file_and_per_session(monkeypatch: pytest.MonkeyPatch) -> None:
    from designer_app import datasets

    _limits(monkeypatch, upload_mb=0.01, session_upload_mb=0.015)
    with pytest.raises(ValueError, match=r"upload limit .*rmlp app --upload-mb"):
        datasets.save_upload(b"x" * 20_000, "big.csv", (".csv",))
    datasets.save_upload(b"a,b\n" + b"1,2\n" * 2000, "one.csv", (".csv",))
    with pytest.raises(ValueError, match=r"per session .*rmlp app --session-upload-mb"):
        datasets.save_upload(b"a,b\n" + b"3,4\n" * 2000, "two.csv", (".csv",))


def test_cached_tables_are_bounded_in_bytes_and_released_with_their_session() -> None:
    import pandas as pd

    from designer_app.memo import ByteCache, size_of

    frame = pd.DataFrame({"a": range(10_000)})  # 80 kB of numbers
    one = size_of(frame)
    cache = ByteCache(lambda: int(2.5 * one))
    for key in range(4):
        cache.get(key, lambda: frame.copy(), owner=f"session-{key % 2}")
    assert cache.bytes <= 2.5 * one and len(cache) == 2  # the oldest went first
    cache.get("huge", lambda: pd.DataFrame({"a": range(100_000)}), owner="session-0")
    assert "huge" not in cache._items  # noqa: SLF001 - larger than the budget: not kept at all
    cache.release("session-1")
    assert len(cache) == 1
    cache.release("session-0")
    assert len(cache) == 0 and cache.bytes == 0


def _keras_zip(path: Path, weights: bytes, compress: int = zipfile.ZIP_DEFLATED) -> Path:
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": []}, "module": "keras"}
    with zipfile.ZipFile(path, "w", compression=compress) as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", "{}")
        archive.writestr("model.weights.h5", weights)
    return path


def test_a_keras_zip_bomb_is_refused_from_its_declared_sizes_and_nothing_is_unpacked(tmp_path: Path) -> None:
    from rmlp.base import safety

    bomb = _keras_zip(tmp_path / "bomb.keras", bytes(64 * 2**20))  # 64 MiB of zeros in ~64 kB
    assert bomb.stat().st_size < 2**20
    temp = Path(tempfile.gettempdir())
    before = {p.name for p in temp.iterdir()}
    start = time.perf_counter()
    problems = safety.check_keras_file(bomb)
    assert time.perf_counter() - start < 2.0
    assert problems and "packed that tightly" in problems[0].message, problems
    assert {p.name for p in temp.iterdir()} - before == set()  # nothing unpacked to the temporary folder
    # over the operator's size limit, the refusal says how to raise it
    big = _keras_zip(tmp_path / "big.keras", os.urandom(3 * 2**20), zipfile.ZIP_STORED)
    hint = "ask whoever runs the server to raise it (rmlp app --base-model-mb N)"
    problems = safety.check_keras_file(big, max_bytes=2**20, raise_hint=hint)
    assert problems and hint in problems[0].fix


def test_the_keras_check_is_remembered_by_content_hash(tmp_path: Path) -> None:
    from rmlp.base import safety

    model = _keras_zip(tmp_path / "m.keras", b"not hdf5", zipfile.ZIP_STORED)
    safety._checked.cache_clear()  # noqa: SLF001
    safety.check_keras_file(model)
    safety.check_keras_file(model)
    info = safety._checked.cache_info()  # noqa: SLF001
    assert (info.hits, info.misses) == (1, 1)
    os.utime(model, (1, 1))  # same bytes, new modification time: still the same answer, not a new check
    safety.check_keras_file(model)
    assert safety._checked.cache_info().hits == 2  # noqa: SLF001


def _dead_pid() -> int:
    done = subprocess.Popen(["true"])  # noqa: S607
    done.wait()
    return done.pid


def test_runs_left_running_by_a_dead_server_are_marked_interrupted(tmp_path: Path) -> None:
    from designer_app import server

    runs = tmp_path / "runs"
    states = {"dead": {"status": "running", "epochs_done": 3, "epochs": 10, "host": server.host_name(),
                       "pid": _dead_pid()},
              "alive": {"status": "running", "epochs": 10, "host": server.host_name(), "pid": os.getpid()},
              "done": {"status": "finished", "epochs": 10, "host": server.host_name(), "pid": _dead_pid()}}
    for name, state in states.items():
        (runs / name).mkdir(parents=True)
        (runs / name / "state.json").write_text(json.dumps(state))
    assert server.mark_interrupted_runs(runs) == [runs / "dead"]
    marked = json.loads((runs / "dead" / "state.json").read_text())
    assert marked["status"] == "interrupted"
    assert f"rmlp resume {runs / 'dead'}" in marked["error"] and "after 3 of 10 epochs" in marked["error"]
    assert json.loads((runs / "alive" / "state.json").read_text())["status"] == "running"
    assert json.loads((runs / "done" / "state.json").read_text())["status"] == "finished"


def test_upload_folders_of_a_dead_server_are_swept_and_a_live_one_s_kept() -> None:
    from designer_app import datasets, server

    root = datasets.upload_root()
    dead, live = root / ("d" * 20).replace("d", "a"), root / ("b" * 20)
    for folder, pid in ((dead, _dead_pid()), (live, os.getpid())):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / server.OWNER_FILE).write_text(json.dumps({"host": server.host_name(), "pid": pid}))
        (folder / ("0" * 20 + ".csv")).write_text("a,b\n1,2\n")
    removed = datasets.sweep_uploads(orphans=True)
    assert dead in removed and not dead.exists() and live.is_dir()


def test_a_job_whose_session_ended_stops_after_the_grace_period_with_a_reason() -> None:
    from designer_app import jobs

    def work(listener: Any, stop: threading.Event) -> str:
        stop.wait(30)
        return "stopped" if stop.is_set() else "ran out"

    left, taken_back = jobs.Job(work, exclusive=False).start(), jobs.Job(work, exclusive=False).start()
    left.owner = taken_back.owner = "session-gone"
    left.browser = taken_back.browser = ""
    assert {left, taken_back} <= set(jobs.session_ended("session-gone", 0.3))
    taken_back.owner = "a new session of the same browser"  # what jobs.reclaim does on a reload
    assert left.wait(10)
    snap = left.snapshot()
    assert snap.status == "stopped" and "browser tab was closed" in snap.stop_reason
    time.sleep(0.5)
    assert not taken_back.finished
    taken_back.stop()
    assert taken_back.wait(10) and taken_back.snapshot().stop_reason == ""


def test_jobs_beyond_the_server_limit_do_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from designer_app import jobs

    _limits(monkeypatch, server_jobs=len(jobs.active()) + 1)
    gate = threading.Event()
    first = jobs.Job(lambda listener, stop: gate.wait(30), exclusive=False).start()
    second = jobs.Job(lambda listener, stop: "ran", exclusive=False).start()
    try:
        snap = second.snapshot()
        assert snap.status == "error" and "rmlp app --server-jobs" in snap.error, snap.error
        assert first.status == "running"
    finally:
        gate.set()
        first.wait(10)


def test_a_session_runs_at_most_its_share_of_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    from designer_app import jobs

    _limits(monkeypatch, session_jobs=1, server_jobs=1000)
    gate = threading.Event()
    monkeypatch.setattr(jobs, "_session_names", lambda: ("session-x", ""))
    first = jobs.Job(lambda listener, stop: gate.wait(30), exclusive=False).start()
    second = jobs.Job(lambda listener, stop: "ran", exclusive=False).start()
    monkeypatch.setattr(jobs, "_session_names", lambda: ("session-y", ""))
    other = jobs.Job(lambda listener, stop: "ran", exclusive=False).start()
    try:
        assert second.snapshot().status == "error" and "rmlp app --session-jobs" in second.snapshot().error
        assert other.wait(10) and other.snapshot().status == "done"  # another session is not held back
    finally:
        gate.set()
        first.wait(10)


# ====================================================================== to each visitor
def test_with_a_password_only_the_sign_in_page_runs(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RMLP_APP_PASSWORD", "correct horse")
    at = app.run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Password or token"]
    assert "rmlp.spec" not in at.session_state  # no page, no session state beyond the gate
    at.text_input[0].input("wrong")
    at = at.button[0].click().run()
    assert any("not right" in e.value for e in at.error)
    assert "rmlp.spec" not in at.session_state
    at.text_input[0].input("correct horse")
    at = at.button[0].click().run()
    assert not at.exception and "rmlp.spec" in at.session_state
    assert any(t.label == "Design name" for t in at.text_input) or at.session_state["rmlp.auth"]


def test_the_address_carries_no_job_id(app: AppTest) -> None:
    from designer_app import jobs

    at = app.run()
    job = jobs.Job(lambda listener, stop: None, exclusive=False).start()
    at.session_state["rmlp.job"] = job
    at = at.run()
    assert set(at.query_params) <= {"spec", "data"}


def _foreign_link(path: str) -> str:
    from designer_app.links import encode_spec
    from rmlp import ModelSpec
    from rmlp.data.samples import starting_base_model

    bm = starting_base_model("file") or {}
    spec = ModelSpec(input_shape=[28, 28, 1]).copy_with(base_model={**bm, "source": "file", "path": path})
    return encode_spec(spec)


def test_a_link_cannot_probe_the_server_s_files(app: AppTest, tmp_path: Path) -> None:
    secret = _keras_zip(tmp_path / "secret.keras", b"x" * 631, zipfile.ZIP_STORED)
    words = []
    for probe in (str(secret), str(tmp_path / "missing.keras"), "/etc/passwd"):
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.query_params["spec"] = _foreign_link(probe)
        at = at.run()
        assert not at.exception
        bm = at.session_state["rmlp.spec"].get("base_model") or {}
        assert not bm.get("path")  # the path was left out of the design
        shown = " ".join(e.value for e in [*at.warning, *at.error, *at.info, *at.caption, *at.markdown])
        assert "secret" not in shown and "631" not in shown and "passwd" not in shown
        words.append(sorted(w.value for w in at.warning))
    assert words[0] == words[1] == words[2]  # the same words whether the file exists or not
    assert any("left out" in w for w in words[0])


def test_a_linked_upload_is_copied_into_the_visitor_s_own_folder(app: AppTest) -> None:
    from designer_app import datasets

    owner_folder = datasets.upload_root() / os.urandom(10).hex()  # another session's upload folder
    owner_folder.mkdir(parents=True)
    model = _keras_zip(owner_folder / "model.keras", b"weights", zipfile.ZIP_STORED)
    named = owner_folder / f"{hashlib.sha256(model.read_bytes()).hexdigest()[:20]}.keras"
    model.rename(named)
    visitor = AppTest.from_file(str(APP), default_timeout=60)
    visitor.query_params["spec"] = _foreign_link(str(named))
    visitor = visitor.run()
    path = Path(visitor.session_state["rmlp.spec"]["base_model"]["path"])
    assert path.parent.name == visitor.session_state["rmlp.uploads"] and path.read_bytes() == named.read_bytes()
    assert sorted(p.name for p in owner_folder.iterdir() if not p.name.startswith(".")) == [named.name]


def test_a_storage_url_is_used_only_when_the_operator_allowed_it(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from designer_app.search_view import STORAGE_REFUSED

    monkeypatch.setenv("RMLP_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("RMLP_STUDIES_DIR", str(tmp_path / "studies"))
    monkeypatch.chdir(ROOT)
    at = open_page(AppTest.from_file(str(APP), default_timeout=90), "data")
    at = widget(at, "button", "Use this data").click().run()
    at = at.switch_page("../pages/search.py").run()
    elsewhere = tmp_path / "anywhere" / "new.db"
    at = widget(at, "text_input", "Storage URL").set_value(f"sqlite:///{elsewhere}").run()
    at = widget(at, "button", "Show this study").click().run()
    assert not at.exception
    assert any(STORAGE_REFUSED in e.value for e in at.error), [e.value for e in at.error]
    assert not elsewhere.parent.exists()  # no folder, no database


def test_two_visitors_with_the_same_study_name_get_two_studies(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RMLP_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("RMLP_STUDIES_DIR", str(tmp_path / "studies"))
    monkeypatch.chdir(ROOT)
    shown = []
    for _ in range(2):
        at = open_page(AppTest.from_file(str(APP), default_timeout=90), "data")
        at = widget(at, "button", "Use this data").click().run()
        at = at.switch_page("../pages/search.py").run()
        at = widget(at, "text_input", "Study name").set_value("data").run()
        at = widget(at, "button", "Show this study").click().run()
        assert not at.exception
        shown.append(at.session_state["rmlp.search"].view)
    (first_storage, first_name), (second_storage, second_name) = shown
    assert first_name.startswith("data-") and second_name.startswith("data-") and first_name != second_name
    assert first_storage != second_storage
    assert all(str(tmp_path / "studies") in s for s in (first_storage, second_storage))


def test_a_design_name_is_shown_as_written_not_as_a_link(app: AppTest) -> None:
    from designer_app.links import encode_spec
    from rmlp import ModelSpec

    app.query_params["spec"] = encode_spec(ModelSpec(name="[click me](http://example.invalid) **bold**"))
    at = app.run()
    status = next(e.value for e in [*at.sidebar.success, *at.sidebar.warning, *at.sidebar.error])
    assert "](http" not in status and "\\[click me\\]\\(http\\:" in status and "\\*\\*bold\\*\\*" in status


def test_a_returning_visitor_is_told_that_a_dead_server_interrupted_their_training(
        app: AppTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from designer_app import server

    runs = tmp_path / "runs"
    run = runs / "tiny-2026-12-07"
    run.mkdir(parents=True)
    state = {"status": "running", "epochs_done": 2, "epochs": 5, "host": server.host_name(), "pid": os.getpid(),
             "started_at": "2026-12-07T12:00:00"}
    (run / "state.json").write_text(json.dumps(state))
    assert server.claim_run(runs, "returning-browser") == run  # the app names the browser of the run it trains
    (run / "state.json").write_text(json.dumps({**state, "pid": _dead_pid()}))  # that server was killed
    assert server.mark_interrupted_runs(runs) == [run]
    monkeypatch.setattr(server, "browser_key", lambda: "another-browser")
    stranger = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not any("interrupted" in w.value for w in stranger.warning)
    monkeypatch.setattr(server, "browser_key", lambda: "returning-browser")
    at = app.run()
    told = [w.value for w in at.warning if "interrupted" in w.value]
    assert told and f"rmlp resume {run}" in told[0] and "after 2 of 5 epochs" in told[0]
    again = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not any("interrupted" in w.value for w in again.warning)  # told once


def test_tests_keep_their_own_upload_folder() -> None:
    """A test that sweeps uploads must never reach the folder a running app server uses."""
    from designer_app import datasets

    real = Path(tempfile.gettempdir()) / "rmlp-designer" / "uploads"
    assert datasets.upload_root() != real
    assert datasets.upload_root().name.startswith("rmlp-test-uploads-")


def test_a_session_s_cached_tables_go_when_it_ends(app: AppTest) -> None:
    from streamlit.runtime.caching import clear_session_resource_cache

    from designer_app import datasets

    at = open_page(app, "data")
    at = widget(at, "button", "Use this data").click().run()
    owner = at.session_state["rmlp.uploads"]
    held = [key for key, (_, _, owners) in datasets.CACHE._items.items() if owner in owners]  # noqa: SLF001
    assert held, "the table and the loaded data set are cached for the session"
    clear_session_resource_cache("test session id")  # Streamlit ends the session (every AppTest has this id)
    assert not any(owner in owners for _, _, owners in datasets.CACHE._items.values())  # noqa: SLF001


def test_a_wide_upload_is_refused_on_the_data_page_with_the_limit_named(app: AppTest) -> None:
    header = ",".join(f"c{i}" for i in range(20_000)) + "\n"
    at = widget(open_page(app, "data"), "button_group", "Where from").set_value("upload").run()
    at.get("file_uploader")[0].set_value(("wide.csv", (header + header.replace("c", "1")).encode(), "text/csv"))
    at = at.run()
    assert not at.exception
    said = " ".join(e.value for e in at.error)
    assert "20,000 columns" in said and "limit of 10,000 columns" in said and "--max-columns" in said, said
    assert "rmlp.data" not in at.session_state or at.session_state["rmlp.data"] is None


def test_a_shared_server_lists_each_visitor_only_their_own_runs(app: AppTest, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    from designer_app import server
    from rmlp import ModelSpec

    runs = tmp_path / "runs"
    when = dt.datetime(2025, 1, 1, 12, 0, 0)
    for i, (name, owner) in enumerate([("alices-run", "alice"), ("bobs-run", "bob"), ("cli-run", None)]):
        folder = runs / f"{when + dt.timedelta(minutes=i):%Y%m%d-%H%M%S}-{name}"
        folder.mkdir(parents=True)
        ModelSpec(name=name, task="multiclass", num_outputs=3).save(folder / "spec.json")
        (folder / "state.json").write_text(json.dumps({"status": "finished", "epochs_done": 1, "epochs": 1}))
        if owner:
            (folder / server.RUN_OWNER_FILE).write_text(json.dumps({"browser": owner}))
    browser = {"key": "alice"}
    monkeypatch.setattr(server, "browser_key", lambda: browser["key"])

    def listed() -> tuple[list[str], str]:
        at = open_page(AppTest.from_file(str(APP), default_timeout=60), "runs")
        assert not at.exception
        tables = [d for d in at.dataframe if (d.key or "").startswith("runs_table_")]
        shown = "\n".join(c.value for c in at.caption) + "\n".join(i.value for i in at.info)
        return (sorted(tables[0].value["Run"]) if tables else []), shown

    assert listed()[0] == ["alices-run", "bobs-run", "cli-run"]  # on 127.0.0.1: the operator's own machine
    monkeypatch.setenv("RMLP_APP_EXPOSED", "1")  # as rmlp app --host 0.0.0.0 sets it
    names, shown = listed()
    assert names == ["alices-run"] and str(runs) not in shown and "only the runs their own browser" in shown
    browser["key"] = "bob"
    assert listed()[0] == ["bobs-run"]
    browser["key"] = "carol"
    names, shown = listed()
    assert names == [] and "No runs of yours yet" in shown
    _limits(monkeypatch, share_runs=True)  # rmlp app --host 0.0.0.0 --share-runs
    assert listed()[0] == ["alices-run", "bobs-run", "cli-run"]


def test_rmlp_app_tells_the_app_whether_it_is_exposed(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from rmlp.cli import app as cli_app
    from rmlp.cli import start

    seen: list[dict[str, str]] = []
    monkeypatch.setattr(start, "run_forwarding_signals", lambda command, env: seen.append(env) or 0)
    monkeypatch.setenv("RMLP_APP_PASSWORD", "a long enough password")
    for host in ("127.0.0.1", "0.0.0.0"):
        CliRunner().invoke(cli_app, ["app", "--host", host, "--headless"])
    assert [env["RMLP_APP_EXPOSED"] for env in seen] == ["", "1"]
