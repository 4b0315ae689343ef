"""What rmlp promises about bad settings files, base-model files, storage URLs and original-API calls.

* A NaN or infinite number anywhere in a spec, a training or search setting or a search space
  (JSON ``NaN``/``Infinity``, YAML ``.nan``/``.inf``) is an error at its field path, with the fix
  "use a finite number"; ``rmlp validate`` exits 1 and never says "no problems found".
* A settings document is bounded before it is expanded: a YAML alias bomb ("billion laughs"), a
  self-referring alias, nesting 100,000 levels deep (JSON or YAML), more than 100,000 values or a
  file over 1 MiB is refused in well under a second and a few megabytes, with a message saying
  which limit was hit; a message never quotes a huge input whole.
* A spec file is read as UTF-8, or as UTF-8/16/32 after a byte-order mark; other bytes give "not
  UTF-8 text". A JSON spec works whatever its name ends in; text that does not parse says what it
  looks like (a CSV table, YAML, binary data) instead of naming a parser after the file's suffix.
* A plain ``postgresql://`` storage URL uses the PostgreSQL driver that is installed (psycopg2 or
  psycopg 3); a missing driver is named by the package to install. A search space or spec made
  by a newer rmlp (``version``/``spec_version`` above this one's) is refused at that field.
* ``rmlp validate`` (and :func:`rmlp.validate`) runs the base-model safety check on a spec's
  ``.keras`` file, without TensorFlow: a Lambda layer, a config nested thousands of levels deep or
  weights stored in another file are errors at ``base_model.path`` with a fix; a Keras refusal
  keeps its reason, not only its first line.
* ``ResidualMLP(...)`` (the original API) reports every mistake of a call at once, each under its
  argument's name.
"""

from __future__ import annotations

import codecs
import json
import math
import random
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rmlp.cli import app
from rmlp.design.validate import validate
from rmlp.keras.original import ResidualMLP
from rmlp.runs.config import TrainConfig
from rmlp.search import storage
from rmlp.search.config import SearchConfig, SearchError
from rmlp.search.space import SearchSpace, SpaceError
from rmlp.spec.fields import parse_settings
from rmlp.spec.io import MAX_DOCUMENT_BYTES
from rmlp.spec.model import ModelSpec, load_spec
from rmlp.spec.problems import ProblemsError, SpecError

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

#: The classic 9×9 alias bomb: 342 bytes that expand to 9^9 (387 million) strings.
BOMB = "a: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))


def cli(*args: Any) -> tuple[int, str]:
    """Run ``rmlp ARGS``; the exit code and everything it printed (no traceback, no unexpected error)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = runner.invoke(app, [str(a) for a in args])
    text = result.output + (result.stderr or "")
    assert "Traceback" not in text and "Unexpected error" not in text, text
    assert not [w for w in caught if issubclass(w.category, (RuntimeWarning, UserWarning))], caught
    return result.exit_code, text


def spec_data(**changes: Any) -> dict[str, Any]:
    data = ModelSpec().to_dict()
    data.update(changes)
    return data


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")  # json writes NaN / Infinity literals
    return path


def refused(call: Any, error: type[Exception] = ProblemsError) -> ProblemsError:
    """The error ``call()`` raises (no Python warning on the way)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(error) as info:
            call()
    assert not [w for w in caught if issubclass(w.category, (RuntimeWarning, UserWarning))], caught
    return info.value  # type: ignore[return-value]


# ----------------------------------------------------------------------------- 1. NaN and infinity
NAN_CASES = [
    ("optimizer.learning_rate", lambda d, v: d["optimizer"].update(learning_rate=v)),
    ("optimizer.clipnorm", lambda d, v: d["optimizer"].update(clipnorm=v)),
    ("bypass_dropout", lambda d, v: d.update(bypass_dropout=v)),
    ("final_dropout", lambda d, v: d.update(final_dropout=v)),
    ("blocks[0].width", lambda d, v: d["blocks"][0].update(width=v)),
    ("input_shape[1]", lambda d, v: d.update(input_shape=[32, v, 3])),
    ("target_scale.mean", lambda d, v: d.update(task="regression", num_outputs=1, target_scale={"mean": v, "std": 1})),
]


@pytest.mark.parametrize("path,put", NAN_CASES, ids=[c[0] for c in NAN_CASES])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_a_nan_or_infinite_spec_number_is_an_error_at_its_path(tmp_path: Path, path: str, put: Any,
                                                                value: float) -> None:
    data = spec_data()
    put(data, value)
    code, text = cli("validate", write_json(tmp_path / "spec.json", data))
    assert code == 1 and "no problems found" not in text
    assert f"error   {path}: " in text and "not a finite number" in text and "Use a finite number" in text


@pytest.mark.parametrize("literal", [".nan", ".inf", "-.inf", ".NaN"])
def test_yaml_nan_and_inf_literals_are_errors_too(tmp_path: Path, literal: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(f"optimizer:\n  learning_rate: {literal}\nbypass_dropout: {literal}\n", encoding="utf-8")
    code, text = cli("validate", path)
    assert code == 1
    assert "optimizer.learning_rate: Learning rate is" in text and "bypass_dropout: " in text
    assert text.count("not a finite number") == 2
    code, text = cli("summary", path)
    assert code == 1 and "finite number" in text


def test_training_and_search_settings_refuse_nan_with_their_path() -> None:
    train = refused(lambda: parse_settings(TrainConfig, {"warmup": math.nan}))
    assert [(p.path, "finite number" in p.message) for p in train.problems] == [("warmup", True)]
    search = refused(lambda: parse_settings(SearchConfig, {"timeout": math.inf, "max_memory_mb": math.nan}))
    assert {p.path for p in search.problems} == {"timeout", "max_memory_mb"}
    assert all(p.fix == "Use a finite number." for p in search.problems)


def test_search_space_ranges_refuse_nan_and_infinity_by_entry() -> None:
    space = {"version": 1, "max_memory_mb": math.inf, "params": {
        "optimizer.learning_rate": {"low": 1e-4, "high": 1e-2, "step": math.nan},
        "bypass_dropout": {"low": -math.inf, "high": 0.5}}}
    problems = refused(lambda: SearchSpace.from_dict(space), SpaceError).problems
    words = {p.path: p.message for p in problems}
    assert "step is nan, not a finite number" in words["optimizer.learning_rate"]
    assert "low is -inf, not a finite number" in words["bypass_dropout"]
    pinned = SearchSpace.from_dict({"params": {"final_dropout": {"pin": math.nan}}})
    assert any("finite number" in p.message for p in pinned.check(ModelSpec()))
    capped = refused(lambda: SearchSpace.from_dict({"max_memory_mb": math.inf}), SpaceError).problems
    assert [p.path for p in capped] == ["max_memory_mb"]


# ----------------------------------------------------------------------------- 2. bounded documents
_CHILD = """
import resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from rmlp.spec.model import load_spec
from rmlp.spec.problems import SpecError
start = time.perf_counter()
try:
    load_spec(sys.argv[1])
    print("LOADED")
except SpecError as exc:
    print(exc)
print("SECONDS", time.perf_counter() - start)
# this process's own high-water mark (ru_maxrss would also count the parent's, kept across exec on Linux)
status = open("/proc/self/status").read() if sys.platform == "linux" else ""
hwm = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")]
print("PEAK_KB", hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _load_in_child(path: Path) -> tuple[str, float, float]:
    """Load ``path`` in a fresh process capped at 1 GiB: (its output, seconds of the load, peak MiB)."""
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    out = done.stdout + done.stderr
    seconds = float(out.split("SECONDS ")[1].split()[0]) if "SECONDS " in out else math.inf
    peak = int(out.split("PEAK_KB ")[1].split()[0]) / 1024 if "PEAK_KB " in out else math.inf
    return out, seconds, peak


def test_a_yaml_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB, encoding="utf-8")
    assert len(BOMB.encode()) < 400
    out, seconds, peak = _load_in_child(path)
    print(f"alias bomb: refused in {seconds:.3f} s, child peak {peak:.0f} MiB")  # reported with -s
    assert "expands to more than 100,000 values" in out and "aliases" in out, out
    assert "MemoryError" not in out and "LOADED" not in out
    assert seconds < 2 and peak < 200, (seconds, peak)
    code, text = cli("validate", path)
    assert code == 1 and "Write the values out" in text and len(text) < 1000


def test_a_yaml_alias_that_contains_itself_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("name: &a [x, *a]\n", encoding="utf-8")
    code, text = cli("validate", path)
    assert code == 1 and "alias *a refers to a value that contains it" in text


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
@pytest.mark.parametrize("depth", [100, 100_000])
def test_extreme_nesting_is_a_clear_error(tmp_path: Path, suffix: str, depth: int) -> None:
    path = tmp_path / f"deep{suffix}"
    path.write_text('{"name": ' + "[" * depth + "]" * depth + "}", encoding="utf-8")
    code, text = cli("validate", path)
    assert code == 1 and ("levels deep" in text or "too deeply" in text), text
    assert len(text) < 1000


def test_too_many_values_and_too_big_files_are_refused(tmp_path: Path) -> None:
    many = write_json(tmp_path / "many.json", spec_data(final_layers=[1] * 150_000))
    assert "more than 100,000 values" in str(refused(lambda: load_spec(many), SpecError))
    big = tmp_path / "big.json"
    big.write_text('{"name": "' + "x" * (MAX_DOCUMENT_BYTES + 10) + '"}', encoding="utf-8")
    code, text = cli("validate", big)
    assert code == 1 and "a settings file is at most 1.0 MiB" in text


def test_a_message_never_quotes_a_huge_value_whole(tmp_path: Path) -> None:
    path = write_json(tmp_path / "spec.json", spec_data(task="x" * 500_000, name=list(range(50_000))))
    code, text = cli("validate", path)
    assert code == 1 and "task: " in text and "name: " in text
    assert len(text) < 1500, len(text)


# ----------------------------------------------------------------------------- 3. encodings and suffixes
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_spec_with_a_byte_order_mark_is_read(tmp_path: Path, encoding: str) -> None:
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    path = tmp_path / "spec.json"
    path.write_bytes(bom + json.dumps(spec_data(name="bom_spec")).encode(encoding))
    assert load_spec(path).name == "bom_spec"
    code, text = cli("validate", path)
    assert code == 0 and "error" not in text


def test_bytes_that_are_not_utf8_are_named_so(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"name": "Modèle"}'.encode("latin-1"))
    code, text = cli("validate", path)
    assert code == 1 and "not UTF-8 text" in text and "Save it as UTF-8" in text


def test_a_json_spec_is_read_whatever_its_name_ends_in(tmp_path: Path) -> None:
    path = write_json(tmp_path / "spec.csv", spec_data(name="named_csv"))
    assert load_spec(path).name == "named_csv"
    code, text = cli("validate", path)
    assert code == 0 and "CSV" not in text


@pytest.mark.parametrize("content,looks,fix", [
    ("a,b,target\n1,2,0\n3,4,1\n", "It looks like a CSV table", "a data table goes to the data option"),
    ("name: mine\ntask: binary\n", "It looks like YAML", "Name the file .yaml"),
    ("\x00\x01binary", "NUL characters", "saved as UTF-8 text"),
    ("", "The file is empty", "rmlp init"),
])
def test_text_that_does_not_parse_says_what_it_looks_like(tmp_path: Path, content: str, looks: str,
                                                          fix: str) -> None:
    path = tmp_path / "spec.json"
    path.write_text(content, encoding="utf-8")
    code, text = cli("validate", path)
    assert code == 1 and "not valid JSON" in text and looks in text and fix in text


# ----------------------------------------------------------------------------- 4. storage URLs and versions
def _only(*modules: str) -> Any:
    return lambda module: module in modules


@pytest.mark.parametrize("installed,url,expected", [
    (("psycopg",), "postgresql://u@localhost/db", "postgresql+psycopg://u@localhost/db"),
    (("psycopg2",), "postgresql://u@localhost/db", "postgresql+psycopg2://u@localhost/db"),
    (("psycopg2",), "postgres://u@localhost/db", "postgresql+psycopg2://u@localhost/db"),
    (("pymysql",), "mysql://u@h/db", "mysql+pymysql://u@h/db"),
    ((), "sqlite:///studies/x.db", "sqlite:///studies/x.db"),
])
def test_a_plain_database_url_gets_the_installed_driver(monkeypatch: pytest.MonkeyPatch, installed: tuple[str, ...],
                                                         url: str, expected: str) -> None:
    monkeypatch.setattr(storage, "_installed", _only(*installed))
    assert storage.storage_kind(url) == ("rdb", expected)


def test_a_missing_driver_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage, "_installed", _only("psycopg2"))
    message = str(refused(lambda: storage.normalize_url("postgresql+psycopg://u:secret@h/db"), SearchError))
    assert "psycopg[binary]" in message and "postgresql+psycopg2://" in message and "secret" not in message
    monkeypatch.setattr(storage, "_installed", _only())
    message = str(refused(lambda: storage.normalize_url("postgresql://u@h/db"), SearchError))
    assert "psycopg2-binary" in message and "psycopg[binary]" in message


def test_search_with_a_driverless_postgres_url_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    monkeypatch.setattr(storage, "_installed", _only("psycopg"))
    spec = write_json(tmp_path / "spec.json", spec_data(task="multiclass", num_outputs=3, input_shape=[13]))
    code, text = cli("search", spec, "--data", ROOT / "sample_data" / "wine.csv", "--target", "target",
                     "--n-trials", "1", "--storage", "postgresql+psycopg2://u@localhost/db")
    assert code == 1 and "pip install 'psycopg2-binary'" in text and "postgresql+psycopg://" in text


def test_search_with_an_unreachable_server_says_so_before_any_progress(tmp_path: Path) -> None:
    spec = write_json(tmp_path / "spec.json", spec_data(task="multiclass", num_outputs=3, input_shape=[13]))
    code, text = cli("search", spec, "--data", ROOT / "sample_data" / "wine.csv", "--target", "target",
                     "--n-trials", "1", "--storage", "postgresql://u@127.0.0.1:1/db")
    assert code == 1 and "Cannot open the study storage" in text and "that the server runs" in text, text
    assert "starting" not in text and "trials" not in text.split("Error")[0]


def test_files_made_by_a_newer_rmlp_are_refused_at_their_version_field(tmp_path: Path) -> None:
    space = refused(lambda: SearchSpace.from_dict({"version": 99, "params": {}}), SpaceError).problems
    assert [p.path for p in space] == ["version"] and "made by a newer rmlp" in space[0].message
    assert "Upgrade rmlp" in space[0].fix
    code, text = cli("validate", write_json(tmp_path / "spec.json", spec_data(spec_version=99)))
    assert code == 1 and "spec_version: The model spec was made by a newer rmlp" in text
    code, text = cli("validate", write_json(tmp_path / "zero.json", spec_data(spec_version=0)))
    assert code == 1 and "spec_version: 0 is not a format version" in text


# ----------------------------------------------------------------------------- 5. base model files
def _keras_zip(path: Path, config: str, weights: bytes | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", config)
        archive.writestr("metadata.json", '{"keras_version": "3.15.1"}')
        if weights is not None:
            archive.writestr("model.weights.h5", weights)
    return path


def _layers(*layers: dict[str, Any]) -> str:
    inp = {"class_name": "InputLayer", "module": "keras.layers",
           "config": {"name": "in", "batch_shape": [None, 8, 8, 3]}}
    model = {"class_name": "Sequential", "module": "keras", "config": {"name": "m", "layers": [inp, *layers]}}
    return json.dumps(model)


def _spec_with_base(tmp_path: Path, base: Path) -> Path:
    return write_json(tmp_path / "spec.json", spec_data(input_shape=[8, 8, 3], base_model={"source": "file",
                                                                                           "path": str(base)}))


def test_validate_refuses_a_base_model_with_a_lambda_layer(tmp_path: Path) -> None:
    lam = {"class_name": "Lambda", "module": "keras.layers", "config": {
        "name": "evil", "function": {"class_name": "__lambda__", "config": {"code": "b'...'"}}}}
    spec = _spec_with_base(tmp_path, _keras_zip(tmp_path / "lam.keras", _layers(lam)))
    problems = [p for p in validate(ModelSpec.load(spec)) if p.severity == "error"]
    assert [p.path for p in problems] == ["base_model.path"] and "Lambda" in problems[0].message
    code, text = cli("validate", spec)
    assert code == 1 and "error   base_model.path: The model contains a Lambda layer" in text and "fix:" in text
    assert "not been inspected yet" not in text
    code, text = cli("summary", spec)
    assert code == 1 and "Lambda" in text


def test_a_base_model_config_nested_thousands_deep_is_refused(tmp_path: Path) -> None:
    deep = '{"class_name": "Sequential", "config": ' + "[" * 50_000 + "]" * 50_000 + "}"
    spec = _spec_with_base(tmp_path, _keras_zip(tmp_path / "deep.keras", deep))
    code, text = cli("validate", spec)
    assert code == 1 and "base_model.path" in text and "more than 200 levels deep" in text


def test_a_base_model_whose_weights_live_in_another_file_is_refused(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    outside = tmp_path / "outside.bin"
    outside.write_bytes(bytes(64))
    weights = tmp_path / "weights.h5"
    with h5py.File(weights, "w") as handle:
        handle.create_dataset("layers/dense/vars/0", shape=(4, 4), dtype="f4", external=[(str(outside), 0, 64)])
    dense = {"class_name": "Dense", "module": "keras.layers", "config": {"name": "dense", "units": 4}}
    spec = _spec_with_base(tmp_path, _keras_zip(tmp_path / "ext.keras", _layers(dense), weights.read_bytes()))
    code, text = cli("validate", spec)
    assert code == 1 and "base_model.path" in text and "stores its values in another file" in text
    assert str(outside) in text and "refused for safety" in text


def test_a_keras_refusal_keeps_its_reason() -> None:
    from rmlp.base.loading import _reason

    keras_says = ValueError("A total of 1 objects could not be loaded. Example error message for object <Dense "
                            "name=dense>:\n\nNot allowed: H5 file with external Dataset: [('/etc/passwd', 0, 64)]"
                            "\n\nList of objects that could not be loaded:\n[<Dense name=dense>]")
    text = _reason(keras_says)
    assert text.startswith("Not allowed: H5 file with external Dataset: [('/etc/passwd'") and "\n" not in text


# ----------------------------------------------------------------------------- 6. the original API
#: Independent mistakes, each on its own argument(s): (argument named in the message, arguments).
MISTAKES: list[tuple[str, dict[str, Any]]] = [
    ("residual_bypass_dense_layers", {"residual_bypass_dense_layers": [[8], [8], [8]]}),
    ("dropout_rate_for_bypass_layers", {"dropout_rate_for_bypass_layers": 1.5}),
    ("dropout_rate", {"dropout_rate": -0.2}),
    ("learning_rate", {"learning_rate": "fast"}),
    ("b_norm_or_dropout_residual_bypass_layers", {"b_norm_or_dropout_residual_bypass_layers": "layernorm"}),
    ("b_norm_or_dropout_last_layers", {"b_norm_or_dropout_last_layers": "l2"}),
    ("problem_type", {"problem_type": "clustering"}),
    ("loss", {"loss": "hinge"}),
    ("blocks[0]", {"blocks": [[5, 40, 10]]}),
    ("final_dense_layers", {"final_dense_layers": [0, 35]}),
    ("inter_block_layers_per_block", {"inter_block_layers_per_block": [-3]}),
    ("activation", {"activation": "wiggle"}),
    ("input_shape", {"input_shape": (32, 0, 3)}),
    ("blockz", {"blockz": [[1, 2, 3]]}),
]


def test_the_original_api_reports_every_mistake_of_a_call_at_once() -> None:
    rng = random.Random(10)
    for _ in range(60):
        (name_a, args_a), (name_b, args_b) = rng.sample(MISTAKES, 2)
        kwargs = {**args_a, **args_b}
        message = str(refused(lambda kwargs=kwargs: ResidualMLP(**kwargs).to_spec(), SpecError))
        assert name_a in message and name_b in message, (kwargs, message)
        assert message.startswith("The ResidualMLP arguments have ") and "Fix:" in message


def test_the_original_api_names_its_own_arguments() -> None:
    error = refused(lambda: ResidualMLP(dropout_rate=1.5, blocks=[[2, 40, 10], [2, 40, 10]],
                                        residual_bypass_dense_layers=[[5]]).to_spec(), SpecError)
    assert [p.path for p in error.problems] == ["residual_bypass_dense_layers", "dropout_rate"]
    assert "(the spec's final_dropout)" in error.problems[1].message
