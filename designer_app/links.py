"""The app's links: the design and the data set in use, written into the URL and read back from it.

The design is ``?spec=``: base64url of zlib-compressed JSON of what differs from the defaults. The data set
in use is ``?data=``: the same encoding of a short description (a sample's name or an upload's content hash,
see :func:`designer_app.datasets.describe`). A browser refresh or a shared link restores both. A link carries
nothing else: no job id (a reload in the same browser finds its jobs through :func:`designer_app.jobs.reclaim`)
and no path (a base model's path is kept only inside this session's upload folder or the sample folder, see
:func:`designer_app.datasets.own_base_model`).

Nothing here reads the session: :mod:`designer_app.state` writes and reads the URL with these.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from functools import lru_cache
from typing import Any

from rmlp import ModelSpec, SpecError, parse_spec

#: Query-parameter names.
QP_SPEC = "spec"
QP_DATA = "data"

#: Largest decompressed design accepted from a link (a 200-block design is about 40 kB).
MAX_SPEC_BYTES = 1_000_000


def encode_spec(spec: ModelSpec) -> str:
    """The design as a compact, URL-safe token: base64url of zlib-compressed JSON of what differs from the defaults."""
    changed = spec.model_dump(mode="json", exclude_defaults=True)
    return _encode_text(json.dumps({"spec_version": spec.spec_version, **changed}, separators=(",", ":")))


@lru_cache(maxsize=64)
def _encode_text(text: str) -> str:
    raw = zlib.compress(text.encode("utf-8"), 9)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def encode_json(data: Any) -> str:
    """Plain JSON data (a data set's description) as a token, the same encoding as a design's."""
    return _encode_text(json.dumps(data, separators=(",", ":"), sort_keys=True))


def decode_json(token: str) -> Any:
    """The JSON data of a token; ValueError (or a decoding error) for a damaged or too large one."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    inflater = zlib.decompressobj()
    text = inflater.decompress(raw, MAX_SPEC_BYTES)
    if inflater.unconsumed_tail:
        raise ValueError("too large")
    return json.loads(text.decode("utf-8"))


def decode_spec(token: str) -> ModelSpec:
    """The design from a token; ValueError saying what is wrong with a damaged one."""
    try:
        data = decode_json(token)
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"the link's design is damaged or too large ({type(exc).__name__})") from None
    try:
        return parse_spec(data)
    except SpecError as exc:
        raise ValueError(str(exc)) from None
