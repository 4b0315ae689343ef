"""The command line: exit codes, clear messages instead of tracebacks, help texts, no TensorFlow on design."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rmlp.cli import app
from rmlp.spec.presets import PRESETS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
COMMANDS = ["validate", "summary", "graph", "export", "init", "train", "resume", "inspect-base", "app", "samples",
            "runs", "predict"]

runner = CliRunner()


def run(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output + result.stderr
    return result


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "spec.json"
    PRESETS["small_tabular"].save(path)
    return path


def _write(path: Path, data) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- help
def test_top_level_help_lists_every_command():
    result = run("--help")
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


@pytest.mark.parametrize(("command", "models"), [("train", ("TrainConfig", "SplitConfig")),
                                                 ("search", ("SearchConfig",))])
def test_every_setting_is_an_option_with_its_own_help(command, models):
    """Options come from the settings' declarations: each field's flag, with its help and its bounds."""
    from rmlp.cli.options import flags_of
    from rmlp.data.split import SplitConfig
    from rmlp.runs.config import TrainConfig
    from rmlp.search.config import SearchConfig
    from rmlp.spec.fields import field_table

    known = {"TrainConfig": TrainConfig, "SplitConfig": SplitConfig, "SearchConfig": SearchConfig}
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "1000", "TERMINAL_WIDTH": "1000"})
    text = " ".join(result.output.replace("│", " ").split())
    offered = 0
    for model in (known[m] for m in models):
        for name, meta in field_table(model).items():
            if meta.cli is None:
                assert f"--{name.replace('_', '-')} " not in text, name
                continue
            offered += 1
            assert flags_of(meta)[0].split("/")[0] in text, name
            assert " ".join(meta.help.split())[:40] in text, name
    assert offered >= 8
    new_setting = {"train": "--lr-schedule [constant|cosine]", "search": "--n-startup-trials"}[command]
    assert new_setting in text


def test_a_setting_outside_its_bounds_is_refused_with_its_words(spec_file, tmp_path):
    result = run("train", spec_file, "--data", SAMPLE / "wine.csv", "--target", "target", "--epochs", "0",
                 "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 1 and "Epochs is 0; it must be ≥ 1" in result.stderr
    assert not (tmp_path / "runs").exists()
    clash = run("train", spec_file, "--data", SAMPLE / "wine.csv", "--target", "target", "--lr-schedule", "cosine",
                "--reduce-lr", "--runs-dir", tmp_path / "runs")
    assert clash.exit_code == 1 and "reduce_lr" in clash.stderr and "schedule" in clash.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Usage" in result.output and "Examples" in result.output
    assert f"rmlp {command}" in result.output


# ----------------------------------------------------------------------------- validate
def test_validate_a_good_spec_exits_0(spec_file):
    result = run("validate", spec_file)
    assert result.exit_code == 0
    assert "no problems" in result.output


def test_validate_errors_exit_1_with_path_message_and_fix(tmp_path):
    bad = _write(tmp_path / "bad.json", {"blocks": [{"layers": 5, "width": 10, "decrement": 5}]})
    result = run("validate", bad)
    assert result.exit_code == 1
    assert "blocks[0].decrement" in result.output and "fix:" in result.output
    assert "1 error" in result.output
    as_json = run("validate", bad, "--json")
    assert as_json.exit_code == 1
    problems = json.loads(as_json.output)
    assert problems[0]["path"] == "blocks[0].decrement" and problems[0]["severity"] == "error"


def test_validate_warnings_alone_exit_0(tmp_path):
    spec = PRESETS["small_tabular"].copy_with(num_outputs=20, final_layers=[8])
    path = tmp_path / "warn.yaml"
    spec.save(path)
    result = run("validate", path)
    assert result.exit_code == 0
    assert "warning" in result.output and "0 errors" in result.output


@pytest.mark.parametrize("content,words", [
    (None, "No spec file"),
    ("{not json", "not valid JSON"),
    ('{"blocks": "many"}', "blocks"),
    ('{"colour": "red"}', "not a field"),
    ("[1, 2]", "JSON object"),
])
def test_validate_bad_files_say_what_is_wrong(tmp_path, content, words):
    path = tmp_path / "spec.json"
    if content is not None:
        _write(path, content)
    result = run("validate", path)
    assert result.exit_code == 1
    assert words in result.output


def test_yaml_specs_are_read_and_bad_yaml_is_reported(tmp_path):
    good = tmp_path / "spec.yaml"
    PRESETS["deep_14"].save(good)
    assert run("validate", good).exit_code == 0
    bad = _write(tmp_path / "bad.yml", "blocks: [1, 2\nname: x")
    result = run("summary", bad)
    assert result.exit_code == 1
    assert "not valid YML" in result.stderr


# ----------------------------------------------------------------------------- user mistakes elsewhere
@pytest.mark.parametrize("command", [["summary"], ["graph"], ["export"], ["export", "--format", "snippet"]])
def test_design_commands_report_a_missing_or_bad_file_without_traceback(tmp_path, command):
    missing = run(*command, tmp_path / "nope.json")
    assert missing.exit_code == 1
    assert "Error:" in missing.stderr and "No spec file" in missing.stderr
    folder = run(*command, tmp_path)
    assert folder.exit_code == 1 and "folder" in folder.stderr
    bad = _write(tmp_path / "bad.json", {"blocks": [{"layers": 5, "width": 10, "decrement": 5}]})
    invalid = run(*command, bad)
    if command == ["graph"]:  # an invalid design is still drawn, its errors in red
        assert invalid.exit_code == 0 and "1 error" in invalid.stderr
    else:
        assert invalid.exit_code == 1
        assert "blocks[0].decrement" in invalid.stderr


def test_train_reports_missing_data_and_bad_target(spec_file, tmp_path):
    missing = run("train", spec_file, "--data", tmp_path / "none.csv", "--target", "y")
    assert missing.exit_code == 1 and "No data file" in missing.stderr
    wine = SAMPLE / "wine.csv"
    if wine.is_file():
        bad = run("train", spec_file, "--data", wine, "--target", "tagret")
        assert bad.exit_code == 1
        assert "no target column 'tagret'" in bad.stderr and "Did you mean 'target'" in bad.stderr


def test_resume_and_inspect_base_report_bad_paths(tmp_path):
    result = run("resume", tmp_path / "no-run")
    assert result.exit_code == 1 and "No run folder" in result.stderr
    fake = tmp_path / "fake.keras"
    fake.write_text("junk")
    result = run("inspect-base", fake)
    assert result.exit_code == 1 and "not a zip archive" in result.stderr


# ----------------------------------------------------------------------------- summary, graph, export, init
def test_summary_figures_and_json(spec_file):
    import rmlp

    result = run("summary", spec_file)
    assert result.exit_code == 0
    assert "16,843" in result.output and "Training memory" in result.output
    data = json.loads(run("summary", spec_file, "--json", "--batch-size", "64").output)
    assert data["total_params"] == rmlp.summarize(PRESETS["small_tabular"]).total_params
    assert data["batch_size"] == 64
    assert run("summary", spec_file, "--dtype", "float64").exit_code == 2


def test_graph_dot_and_svg(spec_file, tmp_path):
    result = run("graph", spec_file)
    assert result.exit_code == 0 and result.output.startswith("digraph")
    out = tmp_path / "g.dot"
    assert run("graph", spec_file, "-o", out, "--full").exit_code == 0
    assert out.read_text().startswith("digraph")
    svg = run("graph", spec_file, "--format", "svg", "-o", tmp_path / "g.svg")
    assert svg.exit_code == 0 and b"<svg" in (tmp_path / "g.svg").read_bytes()


def test_export_py_snippet_and_bundle(spec_file, tmp_path):
    result = run("export", spec_file)
    assert result.exit_code == 0
    tree = ast.parse(result.output)
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "rmlp" not in imported and "keras" in imported
    out = tmp_path / "train.py"
    result = run("export", spec_file, "--csv", "wine.csv", "--target", "target", "--epochs", "3", "-o", out)
    assert result.exit_code == 0
    text = out.read_text()
    assert "EPOCHS = 3" in text and 'TARGET = "target"' in text
    snippet = run("export", spec_file, "--format", "snippet")
    assert snippet.exit_code == 0 and "rmlp.build_model" in snippet.output
    bundle = tmp_path / "b.zip"
    assert run("export", spec_file, "--format", "bundle", "-o", bundle).exit_code == 0
    with zipfile.ZipFile(bundle) as zf:
        assert {"spec.json", "model.py", "snippet.py", "README.md", "graph.dot"} <= set(zf.namelist())
    assert run("export").exit_code == 1
    no_target = run("export", spec_file, "--training")
    assert no_target.exit_code == 1 and "--target" in no_target.stderr


def test_init_writes_presets_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "s.json"
    assert run("init", "-o", out, "--preset", "small_tabular").exit_code == 0
    assert json.loads(out.read_text())["input_shape"] == [13]
    again = run("init", "-o", out)
    assert again.exit_code == 1 and "--force" in again.stderr
    assert run("init", "-o", out, "--force").exit_code == 0
    assert json.loads(out.read_text())["blocks"][0]["width"] == 400
    listing = run("init", "--list")
    assert all(name in listing.output for name in PRESETS)
    unknown = run("init", "-o", tmp_path / "x.json", "--preset", "nope")
    assert unknown.exit_code == 1 and "Choose one of" in unknown.stderr


# ----------------------------------------------------------------------------- real processes
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    code = "import sys; from rmlp.cli import main; sys.argv[0] = 'rmlp'; main()"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_real_process_bad_file_exits_1_with_a_message(tmp_path):
    _write(tmp_path / "bad.json", "{oops")
    done = _cli("summary", "bad.json", cwd=tmp_path)
    assert done.returncode == 1
    assert "not valid JSON" in done.stderr and "Traceback" not in done.stderr


def test_design_commands_do_not_import_tensorflow(tmp_path, spec_file):
    code = (
        "import sys\n"
        "from rmlp.cli import app\n"
        f"spec = {str(spec_file)!r}\n"
        "for args in (['validate', spec], ['summary', spec], ['graph', spec], ['export', spec],\n"
        "             ['export', spec, '-f', 'snippet']):\n"
        "    try:\n"
        "        app(args, prog_name='rmlp')\n"
        "    except SystemExit as exc:\n"
        "        assert not exc.code, (args, exc.code)\n"
        "print('HEAVY', sorted(m for m in ('tensorflow', 'keras', 'streamlit') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "HEAVY []" in done.stdout


# ----------------------------------------------------------------------------- training
@pytest.mark.slow
def test_train_one_epoch_then_resume(spec_file, tmp_path):
    wine = SAMPLE / "wine.csv"
    if not wine.is_file():
        pytest.skip("sample_data/wine.csv is not there")
    runs = tmp_path / "runs"
    result = run("train", spec_file, "--data", wine, "--target", "target", "--epochs", "1", "--runs-dir", runs,
                 "--name", "wine", "--seed", "1")
    assert result.exit_code == 0, result.stderr
    assert "Test metrics" in result.output and "accuracy" in result.output
    (run_dir,) = list(runs.iterdir())
    for name in ("spec.json", "history.csv", "model.keras", "metrics.json", "preprocessor.json", "data.json"):
        assert (run_dir / name).is_file(), name
    finished = run("resume", run_dir)
    assert finished.exit_code == 1 and "--epochs" in finished.stderr
    more = run("resume", run_dir, "--epochs", "1")
    assert more.exit_code == 0, more.stderr
    assert len((run_dir / "history.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs
    bundle = tmp_path / "run.zip"
    assert run("export", "--run", run_dir, "--format", "bundle", "-o", bundle).exit_code == 0
    with zipfile.ZipFile(bundle) as zf:
        assert {"model.keras", "history.csv", "metrics.json", "predict.py", "preprocessor.json"} <= set(zf.namelist())
    bare = run("export", "--run", run_dir, "--format", "bundle", "-o", tmp_path / "bundle")  # no suffix given
    assert bare.exit_code == 0 and "bundle.zip" in bare.stderr and zipfile.is_zipfile(tmp_path / "bundle.zip")
    assert run("export", "--run", run_dir, "--format", "keras", "-o", tmp_path / "mine").exit_code == 0
    assert (tmp_path / "mine.keras").is_file() and not (tmp_path / "mine").exists()
    served = tmp_path / "serving"
    assert run("export", "--run", run_dir, "--format", "savedmodel", "-o", served).exit_code == 0
    assert (served / "saved_model.pb").is_file()


def test_init_with_data_writes_a_design_sized_to_the_table_and_says_why(tmp_path: Path) -> None:
    out = tmp_path / "wine.json"
    result = run("init", "--data", SAMPLE / "wine.csv", "--target", "target", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "Design sized to" in result.stderr and "original_readme" in result.stderr
    spec = json.loads(out.read_text())
    assert spec["input_shape"] == [13] and spec["num_outputs"] == 3
    assert [b["width"] for b in spec["blocks"]] == [128, 64] and spec["optimizer"]["name"] == "adamw"
    kept = run("init", "--data", SAMPLE / "wine.csv", "--target", "target", "--preset", "small_tabular",
               "-o", tmp_path / "kept.json")
    assert kept.exit_code == 0 and "Design sized" not in kept.stderr
    assert json.loads((tmp_path / "kept.json").read_text())["blocks"][0]["width"] == 64
    wrong = run("init", "--data", SAMPLE / "wine.csv", "--target", "nope", "-o", tmp_path / "x.json")
    assert wrong.exit_code == 1 and "no target column 'nope'" in wrong.stderr
    assert not (tmp_path / "x.json").exists()
    # no target at all: the columns are listed and the likely one is named
    none = run("init", "--data", SAMPLE / "digits.csv", "-o", tmp_path / "y.json")
    assert none.exit_code == 1 and "needs a target column" in none.stderr
    assert "'pixel_0_0'" in none.stderr and "and 45 more" in none.stderr and "'digit' looks like one" in none.stderr
    assert not (tmp_path / "y.json").exists()


@pytest.mark.slow
def test_piped_training_output_has_whole_lines(spec_file, tmp_path):
    out = subprocess.run([sys.executable, "-m", "rmlp.cli", "train", str(spec_file), "--data", str(SAMPLE / "wine.csv"),
                          "--target", "target", "--epochs", "3", "--runs-dir", str(tmp_path / "runs")],
                         capture_output=True, text=True, timeout=300, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "60"})
    assert out.returncode == 0, out.stderr
    text = out.stdout + out.stderr
    assert "…" not in text
    last = [line for line in text.splitlines() if line.startswith("epoch 3/3")]
    assert last and "val_loss" in last[-1] and "accuracy" in last[-1], text
