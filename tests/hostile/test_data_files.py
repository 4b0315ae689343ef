"""What rmlp promises about hostile data files (tables, image archives, .npz):

* Numbers that are not finite (inf, -inf) or too large to encode (beyond ±3.4e38) in a table are
  found per column when it is loaded and refused, naming the column, how many and the first rows,
  with the fix (``--non-finite impute`` / ``non_finite="impute"``); with impute they become gaps,
  filled like any other, with a notice. A target that is not finite refuses (or drops) its rows.
* The encoded arrays are always finite: an overflow while scaling is a DataError naming the column.
* No numpy RuntimeWarning or other Python warning reaches the user while loading.
* A .npz with NaN or infinite pixels or labels is refused, saying how many and how to fix it.
* Memory stays bounded for small hostile files: a .npz of compressed zeros, a .npz whose header
  declares a huge shape, and a zip of huge (tiny to store) PNGs are refused from the sizes their
  zip entries and headers declare, before anything is unpacked or decoded; the message names the
  limit and how to raise it (``--max-mb`` / ``max_bytes``, ``--max-image-mp`` / ``max_image_pixels``,
  ``--max-total-mp`` / ``max_total_pixels``). Peak memory is measured in a child process.
* Malformed archives and arrays (bad CRC, false sizes, encrypted members, truncated files, 0-d,
  empty, 1-D, mismatched, object, text or complex arrays) give a DataError, never a raw exception;
  a truncated image inside a good archive is skipped with a notice.
* A table too small to split (fewer than 10 training and 3 validation and test rows) is refused,
  saying how many rows it has and how many it needs.
* Repeated column names are renamed with a notice (a repeated target name is refused); date
  columns are dropped with a notice instead of becoming one one-hot column per date.
* On the command line (``rmlp train``, ``rmlp init``) all of this is an "Error: ..." with exit 1,
  never a traceback, and the limits are options (``--max-mb``, ``--non-finite``, ...).
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rmlp.cli import app
from rmlp.data import DataError, load_images, load_table
from rmlp.spec.presets import PRESETS

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


# ----------------------------------------------------------------------------- helpers
@contextmanager
def no_warnings() -> Iterator[None]:
    """Fail if a Python warning (RuntimeWarning, UserWarning, ...) is emitted inside the block."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    shown = [f"{w.category.__name__}: {w.message}" for w in caught]
    assert not shown, shown


def error_of(func: Callable[..., Any], *args: Any, **kwargs: Any) -> DataError:
    with no_warnings(), pytest.raises(DataError) as info:
        func(*args, **kwargs)
    return info.value


def cli(*args: Any) -> Any:
    result = runner.invoke(app, [str(a) for a in args])
    out = result.output + result.stderr
    assert "Traceback" not in out and "Unexpected error" not in out, out
    result.text = out
    return result


def peak_mb(code: str) -> tuple[float, str]:
    """Run ``code`` in a fresh Python; its peak resident memory (MiB, VmHWM: unlike ru_maxrss, not inherited
    from the forking test process) and what it printed."""
    script = code + (
        "\nimport re; print('PEAK', re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    peak = float(done.stdout.rsplit("PEAK", 1)[1]) / 1024
    return peak, done.stdout


def table(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "y": np.arange(n) % 2})


def csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


def npz_bytes(**arrays: Any) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def png(value: int = 0, size: tuple[int, int] = (8, 8), mode: str = "L") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size, value).save(buf, "PNG")
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def image_members(per_class: int = 10) -> dict[str, bytes]:
    return {f"{c}/{i}.png": png(10 * i + 100 * k) for k, c in enumerate(("a", "b")) for i in range(per_class)}


def write_npy_member(zf: zipfile.ZipFile, name: str, shape: tuple[int, ...], data_bytes: int | None = None) -> None:
    """A uint8 .npy member declaring ``shape``, with that many zero bytes (or ``data_bytes``), streamed."""
    from numpy.lib import format as npy

    with zf.open(name, "w", force_zip64=True) as f:
        npy.write_array_header_2_0(f, {"descr": "|u1", "fortran_order": False, "shape": shape})
        left = int(np.prod(shape)) if data_bytes is None else data_bytes
        chunk = bytes(2**24)
        while left > 0:
            f.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "spec.json"
    PRESETS["small_tabular"].save(path)
    return path


# ----------------------------------------------------------------------------- 1. non-finite numbers
def hostile_table(tmp_path: Path) -> Path:
    frame = table()
    frame["a"] = frame["a"].astype(object)
    frame.loc[3, "a"], frame.loc[7, "a"] = "inf", "-inf"
    frame.loc[9, "b"] = 1e308  # finite in float64, far beyond float32: squares overflow
    frame.loc[11, "b"] = -1e39
    return csv(tmp_path / "inf.csv", frame)


def test_non_finite_feature_values_are_refused_per_column(tmp_path: Path) -> None:
    err = error_of(load_table, hostile_table(tmp_path), "y")
    assert "2 number columns" in err.message
    assert "'a': 2 (inf, -inf; rows 4, 8)" in err.message
    assert "'b': 2 (1e+308, -1e+39; rows 10, 12)" in err.message
    assert "--non-finite impute" in err.fix and "non_finite='impute'" in err.fix


def test_impute_makes_them_gaps_with_a_notice_and_finite_arrays(tmp_path: Path) -> None:
    with no_warnings():
        data = load_table(hostile_table(tmp_path), "y", non_finite="impute")
    assert any("treated as missing" in w and "'a': 2" in w and "'b': 2" in w for w in data.warnings)
    assert data.missing_values == {"a": 2, "b": 2}
    for x in (data.x_train, data.x_val, data.x_test):
        assert np.isfinite(x).all()
    assert data.load_args["non_finite"] == "impute"  # a resume loads it the same way


def test_a_target_that_is_not_finite_refuses_or_drops_its_rows(tmp_path: Path) -> None:
    frame = table().assign(y=np.linspace(0.0, 1.0, 60))
    frame["y"] = frame["y"].astype(object)
    frame.loc[5, "y"], frame.loc[8, "y"] = "inf", "1e300"
    path = csv(tmp_path / "t.csv", frame)
    err = error_of(load_table, path, "y")
    assert "target 'y' holds 2 values" in err.message and "rows 6, 9" in err.message
    assert "--non-finite impute" in err.fix
    with no_warnings():
        data = load_table(path, "y", non_finite="impute")
    assert data.summary()["rows"] == 58 and any("2 rows whose target 'y'" in w for w in data.warnings)
    assert np.isfinite(np.concatenate([data.y_train, data.y_val, data.y_test])).all()


def test_an_overflow_while_encoding_is_caught_and_names_the_column(tmp_path: Path) -> None:
    frame = table()
    frame["c"] = np.arange(60) * 1e-3
    frame.loc[20, "c"] = 3e38  # finite in float32, but over a spread of 0.03 it scales beyond it
    err = error_of(load_table, frame, "y", clip=None)
    assert "'c'" in err.message and "not finite" in err.message and "clip" in err.fix
    with no_warnings():
        data = load_table(frame, "y")  # the soft clip (default) keeps it finite
    assert np.isfinite(data.x_train).all()


def test_cli_refuses_non_finite_and_takes_the_impute_option(tmp_path: Path, spec_file: Path) -> None:
    path = hostile_table(tmp_path)
    result = cli("train", spec_file, "--data", path, "--target", "y")
    assert result.exit_code == 1 and "--non-finite impute" in result.text and "'a': 2" in result.text
    result = cli("init", "-o", tmp_path / "s.json", "--data", path, "--target", "y", "--non-finite", "impute")
    assert result.exit_code == 0 and "treated as missing" in result.text


def test_npz_with_nan_or_infinite_pixels_is_refused() -> None:
    x = np.full((40, 8, 8), np.nan, dtype=np.float32)
    err = error_of(load_images, npz_bytes(x=x, y=np.arange(40) % 2))
    assert "2,560 non-finite values" in err.message and "40 of 40 examples" in err.message
    assert "np.nan_to_num" in err.fix
    x = np.zeros((40, 8, 8))
    x[3, 0, 0], x[5, 1, 1] = np.inf, 1e300  # 1e300 overflows float32
    err = error_of(load_images, npz_bytes(x=x, y=np.arange(40) % 2))
    assert "2 non-finite values" in err.message and "first: 3, 5" in err.message


def test_npz_with_nan_labels_is_refused() -> None:
    y = (np.arange(40) % 2).astype(float)
    y[[2, 7]] = np.nan
    err = error_of(load_images, npz_bytes(x=np.zeros((40, 8, 8)), y=y))
    assert "'y' hold 2 values that are NaN or infinite (examples 2, 7)" in err.message


# ----------------------------------------------------------------------------- 2. bounded memory
def test_npz_of_compressed_zeros_is_refused_from_its_declared_size(tmp_path: Path) -> None:
    path = tmp_path / "zeros.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        write_npy_member(zf, "x.npy", (400, 1000, 1000))  # 381 MiB of zeros, ~1.6 MB on disk
        zf.writestr("y.npy", npz_member(np.arange(400) % 2))
    assert path.stat().st_size < 3_000_000
    err = error_of(load_images, path)
    assert "size limit" in err.message and "381.5 MiB" in err.message
    assert "--max-mb" in err.fix and "max_bytes" in err.fix
    peak, out = peak_mb(f"""
from rmlp.data import DataError, load_images
try:
    load_images({str(path)!r})
except DataError as exc:
    print(exc)
""")
    print(f"peak memory, .npz of 381 MiB compressed zeros: {peak:.0f} MiB")
    assert "size limit" in out and peak < 250  # unpacked it would take 381 MiB, 1.5 GiB as float32


def npz_member(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def test_npz_declaring_a_huge_shape_is_refused_without_allocating(tmp_path: Path) -> None:
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        write_npy_member(zf, "x.npy", (60000, 1000, 1000, 1000), data_bytes=1000)  # declares 54.6 TiB
        zf.writestr("y.npy", npz_member(np.arange(10) % 2))
    err = error_of(load_images, path)
    assert "54.6 TiB" in err.message and "size limit" in err.message and "--max-mb" in err.fix
    err = error_of(load_images, path, max_bytes=2**60)  # a limit raised that far: still no MemoryError
    assert "damaged or truncated" in err.message
    peak, out = peak_mb(f"""
from rmlp.data import DataError, load_images
try:
    load_images({str(path)!r}, max_bytes=2**60)
except DataError as exc:
    print(exc)
""")
    print(f"peak memory, .npz declaring 54.6 TiB: {peak:.0f} MiB")
    assert "damaged" in out and peak < 250


def test_zip_of_huge_pngs_is_refused_before_decoding(tmp_path: Path) -> None:
    big = png(0, (8000, 8000))
    path = tmp_path / "big.zip"
    path.write_bytes(zip_bytes({f"{c}/{i}.png": big for c in ("a", "b") for i in range(3)}))
    assert path.stat().st_size < 10_000
    err = error_of(load_images, path)
    assert "8000×8000 pixels (64 megapixels)" in err.message and "50 megapixels per image" in err.message
    assert "--max-image-mp" in err.fix and "max_image_pixels" in err.fix
    peak, out = peak_mb(f"""
from rmlp.data import DataError, load_images
try:
    load_images({str(path)!r})
except DataError as exc:
    print(exc)
""")
    print(f"peak memory, zip of six 8000x8000 PNGs (refused): {peak:.0f} MiB")
    assert "megapixels" in out and peak < 250  # decoded at once they took 3.1 GB


@pytest.mark.slow
def test_huge_pngs_under_a_raised_limit_decode_one_at_a_time(tmp_path: Path) -> None:
    big = png(0, (8000, 8000))
    path = tmp_path / "big.zip"
    path.write_bytes(zip_bytes({f"{c}/{i}.png": big for c in ("a", "b") for i in range(10)}))
    peak, out = peak_mb(f"""
from rmlp.data import load_images
data = load_images({str(path)!r}, max_image_pixels=10**8, image_size=16)
print(data.summary()["rows"])
""")
    print(f"peak memory, twenty 8000x8000 PNGs decoded to 16x16: {peak:.0f} MiB")
    assert out.split()[0] == "20" and peak < 600  # 20 images of 64 MB each, never all at once


def test_total_pixel_limit_is_checked_from_the_headers() -> None:
    members = {f"{c}/{i}.png": png(i, (100, 100)) for c in ("a", "b") for i in range(10)}
    err = error_of(load_images, zip_bytes(members), max_total_pixels=50_000)
    assert "0.05 megapixels in all" in err.message and "--max-total-mp" in err.fix


def test_cli_train_refuses_a_bomb_and_offers_the_limits(tmp_path: Path, spec_file: Path) -> None:
    path = tmp_path / "big.zip"
    path.write_bytes(zip_bytes({f"{c}/{i}.png": png(0, (8000, 8000)) for c in ("a", "b") for i in range(2)}))
    result = cli("train", spec_file, "--data", path, "--max-image-mp", "20")
    assert result.exit_code == 1 and "20 megapixels per image" in result.text and "--max-image-mp" in result.text


# ----------------------------------------------------------------------------- 3. raw exceptions
def _tamper(raw: bytes, offset_in_central: int, fmt: str, value: int) -> bytes:
    data = bytearray(raw)
    at = data.find(b"PK\x01\x02") + offset_in_central
    struct.pack_into(fmt, data, at, value)
    return bytes(data)


def _bad_crc() -> bytes:
    data = bytearray(zip_bytes(image_members(), zipfile.ZIP_STORED))
    data[data.find(b"IDAT") + 6] ^= 0xFF
    return bytes(data)


def _encrypted() -> bytes:
    raw = zip_bytes(image_members())
    flags = struct.unpack_from("<H", raw, raw.find(b"PK\x01\x02") + 8)[0]
    return _tamper(raw, 8, "<H", flags | 1)


def _truncated_npz() -> bytes:
    raw = npz_bytes(x=np.zeros((40, 8, 8)), y=np.arange(40) % 2)
    return raw[: len(raw) // 2]


def _object_npz() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        obj = io.BytesIO()
        np.save(obj, np.array([{"a": 1}] * 40, dtype=object), allow_pickle=True)
        zf.writestr("x.npy", obj.getvalue())
        zf.writestr("y.npy", npz_member(np.arange(40) % 2))
    return buf.getvalue()


Y40 = np.arange(40) % 2
MALFORMED: dict[str, tuple[Callable[[], bytes], str]] = {
    "bad CRC": (_bad_crc, "cannot be unpacked (Bad CRC-32"),
    "false size": (lambda: _tamper(zip_bytes(image_members()), 24, "<I", 10), "cannot be unpacked"),
    "encrypted member": (_encrypted, "encrypted"),
    "truncated npz": (_truncated_npz, "damaged or cut short"),
    "0-d arrays": (lambda: npz_bytes(x=np.array(3.0), y=np.array(1)), "single value (shape ())"),
    "object dtype": (_object_npz, "Python objects"),
    "1-D x": (lambda: npz_bytes(x=np.arange(40.0), y=Y40), "has shape (40,): one number per example"),
    "mismatched lengths": (lambda: npz_bytes(x=np.zeros((40, 8, 8)), y=Y40[:30]), "'x' has 40 examples"),
    "empty arrays": (lambda: npz_bytes(x=np.zeros((0, 8, 8)), y=np.zeros(0)), "is empty"),
    "text pixels": (lambda: npz_bytes(x=np.array([["a"] * 3] * 40), y=Y40), "holds <U1 values, not numbers"),
    "complex pixels": (lambda: npz_bytes(x=np.zeros((40, 8, 8), complex), y=Y40), "not numbers"),
    "3-D labels": (lambda: npz_bytes(x=np.zeros((40, 8, 8)), y=np.zeros((40, 2, 2))), "have shape (40, 2, 2)"),
    "truncated npy": (lambda: _tamper(npz_bytes(x=np.zeros((40, 8, 8)), y=Y40), 24, "<I", 100), "npy"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_archives_and_arrays_give_a_data_error(case: str) -> None:
    make, words = MALFORMED[case]
    err = error_of(load_images, make())
    assert words in str(err) and err.fix


def test_a_truncated_png_in_a_good_zip_is_skipped_with_a_notice() -> None:
    members = image_members()
    members["a/0.png"] = png(5, (64, 64))[:60]
    with no_warnings():
        data = load_images(zip_bytes(members))
    assert data.summary()["rows"] == 19 and any("a/0.png" in w for w in data.warnings)


def test_palette_images_with_transparency_load_without_a_warning() -> None:
    from PIL import Image

    def pal(i: int) -> bytes:
        im = Image.new("P", (8, 8), i % 2)
        im.putpalette([0, 0, 0, 255, 255, 255])
        buf = io.BytesIO()
        im.save(buf, "PNG", transparency=b"\x00\x80")
        return buf.getvalue()

    with no_warnings():
        data = load_images(zip_bytes({f"{c}/{i}.png": pal(i) for c in ("a", "b") for i in range(10)}))
    assert data.summary()["rows"] == 20


# ----------------------------------------------------------------------------- 4. surprises, said
def test_a_table_too_small_to_split_is_refused() -> None:
    err = error_of(load_table, table(3), "a")
    assert "has 3 rows" in err.message and "at least 16 rows" in err.message
    assert "--val-size" in err.fix and "val_size" in err.fix
    assert "at least 10 rows" in error_of(load_table, table(9), "a", val_size=0, test_size=0).message
    with no_warnings():
        data = load_table(table(16), "a")
    assert {k: len(v) for k, v in data.split_rows.items()} == {"train": 10, "val": 3, "test": 3}


def test_repeated_column_names_are_renamed_with_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,a,b,y\n" + "".join(f"{i},{-i},{i % 3},{i % 2}\n" for i in range(40)))
    with no_warnings():
        data = load_table(path, "y")
    assert "a.1" in data.feature_names
    assert any("'a' (columns 1 and 2, now 'a', 'a.1')" in w for w in data.warnings)
    err = error_of(load_table, path, "a")
    assert "2 columns are named 'a'" in err.message and "'a.1'" in err.message


def test_date_columns_are_dropped_with_a_notice(tmp_path: Path) -> None:
    frame = table().assign(day=[f"2024-01-{1 + i % 27:02d}" for i in range(60)],
                           stamp=[f"{1 + i % 27:02d}/03/2024 10:{i % 60:02d}" for i in range(60)])
    with no_warnings():
        data = load_table(csv(tmp_path / "d.csv", frame), "y")
    assert data.column_types["day"] == "dropped" and data.column_types["stamp"] == "dropped"
    assert not any(n.startswith(("day=", "stamp=")) for n in data.feature_names)
    assert any("'day' was dropped: it holds dates or times (27 different)" in w and "days since" in w
               for w in data.warnings)


def test_size_limit_message_names_the_cli_option_and_the_argument(tmp_path: Path) -> None:
    path = csv(tmp_path / "t.csv", table())
    err = error_of(load_table, path, "y", max_bytes=100)
    assert "--max-mb" in err.fix and "max_bytes" in err.fix
    out = tmp_path / "s.json"
    result = cli("init", "-o", out, "--data", path, "--target", "y", "--max-mb", "0.001")
    assert result.exit_code == 1 and "--max-mb" in result.text
    assert cli("init", "-o", out, "--data", path, "--target", "y", "--max-mb", "1").exit_code == 0
    assert json.loads(out.read_text())


@pytest.mark.parametrize(("command", "flags"), [
    ("train", ("--max-mb", "--max-image-mp", "--max-total-mp", "--non-finite")),
    ("init", ("--max-mb", "--max-image-mp", "--max-total-mp", "--non-finite")),
    ("search", ("--max-mb", "--non-finite")), ("search-space", ("--max-mb", "--non-finite")),
    ("promote", ("--max-mb", "--non-finite")),
])
def test_the_limits_are_options_of_every_command_that_loads_data(command: str, flags: tuple[str, ...]) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "1000", "TERMINAL_WIDTH": "1000"})
    assert result.exit_code == 0
    for flag in flags:
        assert flag in result.output, flag


def test_an_unknown_non_finite_choice_is_refused() -> None:
    err = error_of(load_table, table(), "y", non_finite="drop")
    assert "'drop'" in err.message and "'impute'" in err.fix
