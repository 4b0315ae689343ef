"""What the designer app's server allows: its limits per visitor and in all, declared as settings.

``rmlp app`` offers each field as an option (``--max-columns 50000``) and hands the settings to the
app's process in the environment (:data:`ENV_SETTINGS`, JSON); the app reads them back with
:meth:`ServerLimits.from_env`. Every refusal names the limit and its option (:meth:`ServerLimits.raise_hint`),
so the person who runs the server knows what to raise.
"""

from __future__ import annotations

import json
import os
from typing import ClassVar

from rmlp.spec.fields import StrictSettings, setting

__all__ = ["ENV_ALLOW_STORAGE", "ENV_EXPOSED", "ENV_PASSWORD", "ENV_SETTINGS", "ServerLimits"]

#: The environment variable that carries the settings (JSON of the non-default fields) to the app.
ENV_SETTINGS = "RMLP_APP_SETTINGS"
#: The shared password or token of the app (set by ``rmlp app`` for its child; never in a URL).
ENV_PASSWORD = "RMLP_APP_PASSWORD"
#: Storage URLs the operator allows besides the server's studies folder (one per line).
ENV_ALLOW_STORAGE = "RMLP_APP_ALLOW_STORAGE"
#: Set by ``rmlp app`` when the server listens beyond this machine (``--host`` other than loopback).
ENV_EXPOSED = "RMLP_APP_EXPOSED"


class ServerLimits(StrictSettings):
    """Limits the app's server keeps for each visitor (per session) and for all of them together."""

    what: ClassVar[str] = "The server settings"

    upload_mb: float = setting(
        200.0, label="Upload size (MiB)", low=0.001, high=100_000.0,
        help="Largest file a visitor may upload or load, in MiB (also the most a .zip or .npz may unpack to).",
    )
    session_upload_mb: float = setting(
        1000.0, label="Uploads per session (MiB)", low=0.001, high=1_000_000.0,
        help="Most bytes of uploads one session may keep on the server's disk at a time.",
    )
    max_columns: int = setting(
        10_000, label="Columns", low=1, high=10_000_000,
        help="Most columns a table may have; counted from its header row before any column is read.",
    )
    max_rows: int = setting(
        2_000_000, label="Rows", low=1, high=1_000_000_000,
        help="Most data rows a table may have; counted (an upper bound) before the table is parsed.",
    )
    max_cells: int = setting(
        50_000_000, label="Cells", low=1, high=100_000_000_000,
        help="Most cells (rows × columns) a table may have; checked before the table is parsed.",
    )
    image_mp: float = setting(
        50.0, label="Pixels per image (megapixels)", low=0.001, high=10_000.0,
        help="Largest image decoded (width × height, in millions of pixels).",
    )
    total_mp: float = setting(
        1000.0, label="Pixels per image set (megapixels)", low=0.001, high=1_000_000.0,
        help="Most pixels decoded in all for one image set (in millions).",
    )
    session_jobs: int = setting(
        3, label="Jobs per session", low=1, high=64,
        help="Most trainings, searches and experiments one session may run at the same time.",
    )
    server_jobs: int = setting(
        8, label="Jobs in all", low=1, high=1024,
        help="Most trainings, searches and experiments running on the server at the same time.",
    )
    cache_mb: float = setting(
        1024.0, label="Cached tables (MiB)", low=1.0, high=1_000_000.0,
        help="Most memory the tables kept between page redraws may take, for all sessions together; the "
        "least recently used go first, and a session's go when it ends.",
    )
    base_model_mb: float = setting(
        200.0, label="Base model size (MiB)", low=0.001, high=100_000.0,
        help="Largest .keras base model accepted; the members inside may unpack to at most four times this.",
    )
    job_grace_min: float = setting(
        10.0, label="Job grace (minutes)", low=0.0, high=10_080.0,
        help="How long a training or search keeps running after its browser tab closed, before it is "
        "stopped (and marked so); a reload within this time takes it back.",
    )

    share_runs: bool = setting(
        False, label="Every visitor sees every run",
        help="On a server that listens beyond this machine, each visitor's Runs page lists only the runs their "
        "own browser started; with this, every visitor sees (and may open, export or delete) every run in the "
        "runs folder, the command line's included. A server on 127.0.0.1 always lists every run.",
    )

    def raise_hint(self, name: str) -> str:
        """How the operator raises the limit ``name``: its ``rmlp app`` option and the current value."""
        meta = self.meta(name)
        return (f"the server's limit '{meta.label}' is {getattr(self, name):g}; whoever runs the server can "
                f"raise it with rmlp app --{name.replace('_', '-')} N")

    @classmethod
    def from_env(cls) -> ServerLimits:
        """The settings ``rmlp app`` passed in :data:`ENV_SETTINGS` (the defaults when none or unreadable)."""
        text = os.environ.get(ENV_SETTINGS, "")
        try:
            return cls.model_validate(json.loads(text)) if text else cls()
        except ValueError:
            return cls()

    def to_env(self) -> str:
        """The settings as :data:`ENV_SETTINGS` text (the fields that differ from the defaults)."""
        return json.dumps(self.model_dump(exclude_defaults=True), separators=(",", ":"))
