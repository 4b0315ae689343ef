"""What the app's server promises: who gets in, what a visitor may use, and tidying up after a dead server.

* :func:`gate` asks for the shared password or token ``rmlp app`` set (``RMLP_APP_PASSWORD``; compared
  with :func:`hmac.compare_digest`, never read from the URL) before any page runs;
* :func:`limits` are the operator's :class:`rmlp.spec.server.ServerLimits`;
* :func:`browser_key` names the browser a session runs in (a reload is a new session of the same
  browser), from the cookie Streamlit sets for its XSRF check, hashed with a secret of this process;
* :func:`mark_interrupted_runs` marks run folders a dead server left "running" as "interrupted" (with the
  command that resumes them); :func:`owner_alive` tells the upload folders no live server owns.

It imports no other module of the app (they all may use it); :mod:`designer_app.lifecycle` runs the
start-up tidying and follows sessions to their end.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import os
import secrets
import socket
import tempfile
import time
from functools import cache
from pathlib import Path

import streamlit as st

from rmlp.runs.folder import RunDir
from rmlp.runs.history import process_alive
from rmlp.runs.state import RunState, now
from rmlp.spec.server import ENV_ALLOW_STORAGE, ENV_EXPOSED, ENV_PASSWORD, ServerLimits

_AUTH = "rmlp.auth"  # bool: this session gave the password
#: Hashed browser keys that gave the password (a reload in the same browser is let in again).
_SIGNED_IN: set[str] = set()
#: The file that keeps the secret browser keys are made with, so they outlive a server restart.
SECRET_FILE = ".browser-key-secret"
#: Seconds a wrong password costs (slows guessing down).
WRONG_PASSWORD_DELAY_S = 1.0


@cache
def limits() -> ServerLimits:
    """The server's limits (from ``rmlp app``'s options; the defaults otherwise)."""
    return ServerLimits.from_env()


def allowed_storage() -> tuple[str, ...]:
    """The storage URLs the operator allowed with ``rmlp app --allow-storage`` (besides the studies folder)."""
    return tuple(u.strip() for u in os.environ.get(ENV_ALLOW_STORAGE, "").splitlines() if u.strip())


def runs_private() -> bool:
    """Whether each visitor sees only the runs their own browser started: on a server that listens beyond
    this machine, unless the operator passed ``rmlp app --share-runs``."""
    return bool(os.environ.get(ENV_EXPOSED)) and not limits().share_runs


def host_name() -> str:
    return socket.gethostname()


#: The folder of every session's upload folder, when not the default under the system's temporary folder.
UPLOADS_DIR_ENV = "RMLP_UPLOADS_DIR"
#: Where the app's run folders go (tests point this at a temporary folder).
RUNS_DIR_ENV = "RMLP_RUNS_DIR"


def upload_root() -> Path:
    """The folder that holds every session's upload folder."""
    given = os.environ.get(UPLOADS_DIR_ENV)
    return Path(given) if given else Path(tempfile.gettempdir()) / "rmlp-designer" / "uploads"


def runs_dir() -> Path:
    """The server's own run folder ($RMLP_RUNS_DIR, else ``runs``): where start-up looks for interrupted runs."""
    return Path(os.environ.get(RUNS_DIR_ENV) or "runs")


# ---------------------------------------------------------------------- who is this
def _xsrf_token(cookie: str) -> bytes | None:
    """The token inside Tornado's XSRF cookie (``2|mask|masked token|time``: the same for every page load)."""
    parts = cookie.split("|")
    if len(parts) != 4 or parts[0] != "2":
        return None
    try:
        mask, masked = binascii.unhexlify(parts[1]), binascii.unhexlify(parts[2])
    except (binascii.Error, ValueError):
        return None
    if not mask or not masked:
        return None
    return bytes(b ^ mask[i % len(mask)] for i, b in enumerate(masked))


def browser_key() -> str:
    """A name for this browser, the same across reloads ("" when unknown, e.g. in tests without a browser)."""
    try:
        cookie = st.context.cookies.get("_streamlit_xsrf", "")
    except Exception:  # noqa: BLE001 - no request behind this session (AppTest)
        return ""
    token = _xsrf_token(str(cookie)) if cookie else None
    if not token:
        return ""
    return hmac.new(_secret(), token, hashlib.sha256).hexdigest()[:32]


@cache
def _secret() -> bytes:
    """32 random bytes kept (readable by this user only) beside the upload folders; made on first use."""
    path = upload_root().parent / SECRET_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        data = path.read_bytes()
        if len(data) >= 32:
            return data[:32]
        return secrets.token_bytes(32)  # damaged: keys of this process only
    except OSError:
        return secrets.token_bytes(32)
    data = secrets.token_bytes(32)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return data


# ---------------------------------------------------------------------- the password gate
def password() -> str:
    return os.environ.get(ENV_PASSWORD, "")


def signed_in() -> bool:
    """Whether this session may use the app (always when the server has no password)."""
    if not password() or st.session_state.get(_AUTH):
        return True
    key = browser_key()
    if key and key in _SIGNED_IN:
        st.session_state[_AUTH] = True
        return True
    return False


def check_password(given: str) -> bool:
    """Compare ``given`` with the server's password in constant time; a wrong one costs a second."""
    ok = hmac.compare_digest(given.encode("utf-8"), password().encode("utf-8"))
    if ok:
        st.session_state[_AUTH] = True
        key = browser_key()
        if key:
            _SIGNED_IN.add(key)
    else:
        time.sleep(WRONG_PASSWORD_DELAY_S)
    return ok


def sign_in_page() -> None:
    """The one page a visitor without the password sees."""
    st.title("Residual MLP designer")
    st.write("This server asks for a password. Whoever runs it has it (or the token `rmlp app` printed).")
    with st.form("rmlp-sign-in"):
        given = st.text_input("Password or token", type="password")
        sent = st.form_submit_button("Sign in", type="primary")
    if sent:
        if check_password(given):
            st.rerun()
        st.error("That password is not right.", icon=":material/lock:")


def gate(url_paths: tuple[str, ...] = ()) -> bool:
    """True when the session may see the app; else the sign-in page is drawn, at every page's address
    (``url_paths``), so a link to any page asks for the password and then opens that page."""
    if signed_in():
        return True
    pages = [st.Page(sign_in_page, title="Sign in", icon=":material/lock:", default=True)]
    pages += [st.Page(sign_in_page, title="Sign in", icon=":material/lock:", url_path=p) for p in url_paths]
    st.navigation(pages, position="hidden").run()
    return False


# ---------------------------------------------------------------------- once per server process
OWNER_FILE = ".owner"


def owner_record() -> str:
    """What an upload folder of this process records as its owner: host and process id."""
    return json.dumps({"host": host_name(), "pid": os.getpid()})


def owner_alive(folder: Path) -> bool:
    """Whether the server that made ``folder`` (its ``.owner`` record) still runs; unknown counts as alive."""
    try:
        owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    if not isinstance(owner, dict) or owner.get("host") != host_name():
        return True
    pid = owner.get("pid")
    return not isinstance(pid, int) or pid == os.getpid() or process_alive(pid)


def mark_interrupted_runs(runs_dir: Path) -> list[Path]:
    """Mark the runs under ``runs_dir`` left "running" by a server process that is gone; the runs marked."""
    marked = []
    for folder in sorted(runs_dir.glob("*")) if runs_dir.is_dir() else []:
        run = RunDir(folder)
        try:
            state = RunState.from_dict(run.read_json(RunDir.STATE))
        except (OSError, ValueError, TypeError):
            continue
        if state.status not in ("starting", "running") or state.host not in ("", host_name()):
            continue
        if state.pid == os.getpid() or (state.pid and process_alive(state.pid)):
            continue
        state.status = "interrupted"
        state.error = (f"The server stopped while this run was training (after {state.epochs_done} of "
                       f"{state.epochs} epochs). Resume it with: rmlp resume {folder}")
        state.updated_at = now()  # not touch(): the process that trained it stays recorded
        run.write_json(RunDir.STATE, state.to_dict())
        marked.append(folder)
    return marked


#: The file a run folder of the app gets, naming the browser that started the training (a hashed key).
RUN_OWNER_FILE = "app-owner.json"


def claim_run(runs_dir: Path, browser: str) -> Path | None:
    """Write ``browser`` into the run folder this process is training now (the newest one "running" here)."""
    if not browser or not runs_dir.is_dir():
        return None
    mine = []
    for folder in runs_dir.glob("*"):
        try:
            state = RunState.from_dict(RunDir(folder).read_json(RunDir.STATE))
        except (OSError, ValueError, TypeError):
            continue
        if state.status == "running" and state.pid == os.getpid() and state.host == host_name():
            mine.append((state.started_at, folder))
    if not mine:
        return None
    folder = max(mine)[1]
    (folder / RUN_OWNER_FILE).write_text(json.dumps({"browser": browser}), encoding="utf-8")
    return folder


def run_owner(folder: Path) -> str:
    """The browser key written into an app run's folder ("" for a run of the command line, or unreadable)."""
    try:
        owner = json.loads((folder / RUN_OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(owner.get("browser", "")) if isinstance(owner, dict) else ""


def interrupted_runs_of(runs_dir: Path, browser: str) -> list[tuple[Path, str]]:
    """Runs of ``browser`` a dead server left interrupted and that it was not told about yet: (folder, what
    happened); each is marked told."""
    found = []
    for owner_file in runs_dir.glob(f"*/{RUN_OWNER_FILE}") if browser and runs_dir.is_dir() else []:
        try:
            owner = json.loads(owner_file.read_text(encoding="utf-8"))
            state = RunState.from_dict(RunDir(owner_file.parent).read_json(RunDir.STATE))
        except (OSError, ValueError, TypeError):
            continue
        if owner.get("browser") != browser or owner.get("told") or state.status != "interrupted":
            continue
        owner_file.write_text(json.dumps({**owner, "told": True}), encoding="utf-8")
        found.append((owner_file.parent, state.error))
    return found
