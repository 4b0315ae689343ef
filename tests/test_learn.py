"""The teaching experiments: toy sets, the plain twin, live snapshots, stopping, the sweep and the ablation."""

from __future__ import annotations

import ast
import threading

import numpy as np
import pytest
from typer.testing import CliRunner

from rmlp.design.plan import make_plan
from rmlp.design.validate import validate
from rmlp.learn.experiment import ExperimentConfig, Snapshot, block_kernels, depth_sweep, run_experiment, twin_specs
from rmlp.learn.toys import TOYS, make_toy, plane
from rmlp.spec.model import BlockSpec, ModelSpec

TINY = {"depth": 2, "width": 4, "layers": 1, "epochs": 4, "snapshot_every": 2, "samples": 40}


def _dense(spec: ModelSpec) -> list[tuple[str, int | None]]:
    return [(n.name, n.units) for n in make_plan(spec) if n.op == "dense"]


def test_the_plain_twin_has_the_same_dense_layers_widths_and_depth_and_no_merge() -> None:
    config = ExperimentConfig(depth=5, width=12, layers=3)
    residual, plain = twin_specs(config, make_toy("spirals"))
    assert residual.copy_with(residual=False) == plain.copy_with(name=residual.name)
    assert _dense(residual) == _dense(plain)
    assert len(_dense(plain)) == 5 * 4 + 1
    assert {n.op for n in make_plan(residual)} >= {"concat"}
    assert "concat" not in {n.op for n in make_plan(plain)}
    assert block_kernels(residual) == block_kernels(plain) and len(block_kernels(plain)) == 5


def test_bypass_widths_are_ignored_with_a_warning_when_the_bypass_is_off() -> None:
    spec = ModelSpec(blocks=[BlockSpec(layers=2, width=16, decrement=4, bypass=[8])], residual=False)
    found = [p for p in validate(spec) if p.path == "blocks[0].bypass"]
    assert [p.severity for p in found] == ["warning"]
    assert not any(n.role == "bypass" for n in make_plan(spec))
    assert not [p for p in validate(spec.copy_with(residual=True)) if p.path == "blocks[0].bypass"]


@pytest.mark.parametrize("name", TOYS)
def test_each_toy_set_has_its_shapes_and_classes_and_is_seeded(name: str) -> None:
    data = make_toy(name, samples=200, seed=3)
    width = 1 if name == "curve" else 2
    assert data.x_train.shape == (150, width) and data.x_val.shape == (50, width)
    assert data.y_train.shape == (150, 1) and data.x_train.dtype == np.float32
    assert data.input_shape == [width] and len(data.x_test) == 0
    if name == "curve":
        assert data.task == "regression" and data.class_names == []
    else:
        assert data.task == "binary" and len(data.class_names) == 2
        assert set(np.unique(data.y_train)) == {0.0, 1.0}
    again, other = make_toy(name, samples=200, seed=3), make_toy(name, samples=200, seed=4)
    assert np.array_equal(again.x_train, data.x_train) and not np.array_equal(other.x_train, data.x_train)
    xs, ys = plane(data, 30)
    assert xs.shape == (30,) and ys.shape == ((0,) if name == "curve" else (30,))
    assert xs.min() < data.x_train[:, 0].min() and xs.max() > data.x_train[:, 0].max()


def test_an_unknown_toy_set_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="spirals"):
        make_toy("swirls")


def test_the_gradient_spread_is_largest_over_smallest_and_stays_finite_for_a_dead_block() -> None:
    def shot(norms: list[float]) -> Snapshot:
        return Snapshot("plain", 1, 0.0, 0.0, 0.5, norms, np.zeros((1, 1)), 0.0)

    assert shot([0.5, 4.0, 2.0]).grad_spread == pytest.approx(8.0)
    assert shot([0.0, 1.0]).grad_spread == pytest.approx(1e12)
    assert shot([]).grad_spread == 1.0


def test_a_short_experiment_gives_snapshots_of_both_sides_with_a_norm_per_block_and_a_surface() -> None:
    seen: list[Snapshot] = []
    result = run_experiment(ExperimentConfig(**TINY), on_snapshot=seen.append)
    assert [(s.variant, s.epoch) for s in seen] == [("residual", 2), ("plain", 2), ("residual", 4), ("plain", 4)]
    assert result.snapshots == seen and not result.stopped
    assert set(result.final) == {"residual", "plain"} and result.final["plain"].epoch == 4
    for shot in seen:
        assert len(shot.grad_norms) == 2 and all(np.isfinite(g) and g >= 0 for g in shot.grad_norms)
        assert shot.surface.shape[0] == shot.surface.shape[1] and shot.surface.ndim == 2
        assert 0 <= shot.surface.min() and shot.surface.max() <= 1
        assert 0 <= shot.val_score <= 1 and np.isfinite(shot.loss)


def test_the_curve_gives_predictions_over_a_line_and_an_rmse() -> None:
    result = run_experiment(ExperimentConfig(**{**TINY, "data": "curve"}), record_gradients=False)
    shot = result.final["residual"]
    assert shot.surface.ndim == 1 and shot.grad_norms == [] and shot.val_score > 0


def test_a_set_stop_event_stops_the_experiment_within_a_chunk() -> None:
    stop = threading.Event()
    seen: list[Snapshot] = []

    def on_snapshot(shot: Snapshot) -> None:
        seen.append(shot)
        stop.set()

    result = run_experiment(ExperimentConfig(**{**TINY, "epochs": 40}), on_snapshot=on_snapshot, stop_event=stop)
    assert result.stopped and len(seen) == 1 and seen[0].epoch == 2


def test_depth_sweep_gives_a_row_per_depth_and_variant_and_reports_progress() -> None:
    progress: list[float] = []
    rows = depth_sweep(ExperimentConfig(**TINY), depths=(1, 2), on_progress=lambda share, _: progress.append(share))
    assert [(r["depth"], r["variant"]) for r in rows] == [(1, "residual"), (1, "plain"), (2, "residual"),
                                                          (2, "plain")]
    assert all(set(r) == {"depth", "variant", "val_loss", "val_score", "seconds"} for r in rows)
    assert progress[0] == 0 and progress[-1] == 1.0


def test_the_export_of_a_spec_without_the_bypass_builds_and_has_no_concatenate() -> None:
    from rmlp.export.scripts import export_python

    spec = ModelSpec(task="binary", num_outputs=1, input_shape=[2], residual=False, final_layers=[],
                     blocks=[BlockSpec(layers=2, width=8, decrement=2)] * 2)
    code = export_python(spec)
    assert "Concatenate" not in code and "concat" not in code.lower().replace("concatenated", "")
    ast.parse(code)
    with_bypass = export_python(spec.copy_with(residual=True))
    assert "Concatenate" in with_bypass
    from rmlp.keras.build import build_model

    model = build_model(spec)
    assert not [layer for layer in model.layers if type(layer).__name__ == "Concatenate"]
    assert [layer.units for layer in model.layers if type(layer).__name__ == "Dense"] == [
        u for _, u in _dense(spec)]


def _table(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    path = tmp_path / "t.csv"
    lines = ["a,b,c,label"] + [f"{a:.3f},{b:.3f},{c:.3f},{int(a + b > 0)}" for a, b, c in x]
    path.write_text("\n".join(lines) + "\n")
    return path


def _tiny_spec() -> ModelSpec:
    return ModelSpec(name="tiny", task="binary", num_outputs=1, input_shape=[3], final_layers=[],
                     blocks=[BlockSpec(layers=1, width=4, decrement=0)])


@pytest.mark.slow
def test_ablate_trains_both_variants_on_the_same_split(tmp_path) -> None:
    from rmlp.data import load_data
    from rmlp.learn.ablate import ablate
    from rmlp.runs.config import TrainConfig

    data = load_data(_table(tmp_path), "label", seed=0)
    config = TrainConfig(epochs=2, runs_dir=str(tmp_path / "runs"), seed=1)
    result = ablate(_tiny_spec(), data, config)
    assert result.residual.run_dir.name.endswith("tiny-residual") and result.plain.run_dir.name.endswith("tiny-plain")
    assert result.residual.spec is not None and result.residual.spec.residual
    assert result.plain.spec is not None and not result.plain.spec.residual
    split = [(r.run_dir / "data.json").read_text() for r in (result.residual, result.plain)]
    assert split[0] == split[1]
    rows = result.table()
    assert rows and all(set(r) == {"metric", "residual", "plain", "difference"} for r in rows)


@pytest.mark.slow
def test_the_ablate_command_prints_both_runs_side_by_side(tmp_path) -> None:
    from rmlp.cli import app

    spec_file = tmp_path / "spec.json"
    _tiny_spec().save(spec_file)
    result = CliRunner().invoke(app, ["ablate", str(spec_file), "--data", str(_table(tmp_path)), "--target", "label",
                                      "--epochs", "2", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert "residual" in result.stdout and "plain" in result.stdout and "accuracy" in result.stdout
    assert "tiny-residual" in result.stdout and "tiny-plain" in result.stdout


def test_the_ablate_command_refuses_a_missing_data_file_plainly(tmp_path) -> None:
    from rmlp.cli import app

    spec_file = tmp_path / "spec.json"
    _tiny_spec().save(spec_file)
    result = CliRunner().invoke(app, ["ablate", str(spec_file), "--data", str(tmp_path / "no.csv"), "--target", "y"])
    assert result.exit_code == 1 and "No data file" in result.stderr and "Traceback" not in result.output
