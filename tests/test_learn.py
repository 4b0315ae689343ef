"""The teaching experiments: toy sets, the twins (their NumPy training against Keras), live snapshots, stopping,
the sweep, the lesson they teach, and the ablation."""

from __future__ import annotations

import ast
import subprocess
import sys
import threading

import numpy as np
import pytest
from typer.testing import CliRunner

from rmlp.design.plan import make_plan
from rmlp.design.validate import validate
from rmlp.learn.experiment import (
    ExperimentConfig,
    Snapshot,
    block_kernels,
    depth_sweep,
    learning_rate_at,
    make_pair,
    run_experiment,
    twin_specs,
)
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
    assert result.stopped and len(seen) == 2 and [s.epoch for s in seen] == [2, 2]  # both twins of the chunk


def test_a_stop_takes_effect_after_the_step_in_progress_even_in_one_long_chunk(monkeypatch) -> None:
    from rmlp.learn import twins

    stop, steps = threading.Event(), []
    original = twins.Pair.step

    def counting(self, *args):  # noqa: ANN001, ANN202 - the step, counted; the third one asks to stop
        steps.append(1)
        if len(steps) == 3:
            stop.set()
        return original(self, *args)

    monkeypatch.setattr(twins.Pair, "step", counting)
    config = ExperimentConfig(**{**TINY, "epochs": 100, "snapshot_every": 100})  # one chunk, as in a sweep
    result = run_experiment(config, stop_event=stop)
    assert len(steps) == 3 and result.stopped and result.snapshots == []
    rows = depth_sweep(config.model_copy(update={"snapshot_every": 10}), depths=(1, 2), stop_event=stop)
    assert rows == []


def test_depth_sweep_gives_a_row_per_depth_and_variant_and_reports_progress() -> None:
    progress: list[float] = []
    rows = depth_sweep(ExperimentConfig(**TINY), depths=(1, 2), on_progress=lambda share, _: progress.append(share))
    assert [(r["depth"], r["variant"]) for r in rows] == [(1, "residual"), (1, "plain"), (2, "residual"),
                                                          (2, "plain")]
    assert all(set(r) == {"depth", "variant", "val_loss", "val_score", "seconds"} for r in rows)
    assert progress == [0, pytest.approx(1 / 3), 1.0]  # counted in blocks trained: depth 1 is a third of 1 + 2


# ---------------------------------------------------------------------- the twins' training against Keras
def _trained_pair(data_name: str = "spirals", depth: int = 3, steps: int = 5):
    data = make_toy(data_name, samples=60, seed=1)
    config = ExperimentConfig(data=data_name, depth=depth, width=6, layers=2, samples=60, seed=1)
    pair = make_pair(config, data)
    for _ in range(steps):
        pair.step(data.x_train, data.y_train, data.task == "regression", 0.01)
    return config, data, pair


@pytest.mark.parametrize("data_name", ["spirals", "curve"])
def test_trained_twins_predict_the_same_as_their_specs_keras_models(data_name: str) -> None:
    from rmlp.learn.twins import output, to_keras

    config, data, pair = _trained_pair(data_name)
    specs = twin_specs(config, data)
    ours = output(pair.predict(data.x_train, data.x_val), data.task == "regression")
    for k, (weights, spec) in enumerate(zip(pair.weights(), specs, strict=True)):
        model = to_keras(weights, spec, data.x_train)
        assert [type(layer).__name__ == "Concatenate" for layer in model.layers].count(True) == (
            config.depth if spec.residual else 0)
        keras_out = np.asarray(model(data.x_val, training=False))
        np.testing.assert_allclose(ours[k], keras_out, rtol=2e-4, atol=2e-5)


def test_the_twins_gradients_are_tensorflows() -> None:
    import tensorflow as tf

    from rmlp.learn.twins import to_keras

    config, data, pair = _trained_pair(steps=3)
    specs = twin_specs(config, data)
    pair.loss_and_gradient(data.x_train, data.y_train, regression=False)
    for k, (weights, spec) in enumerate(zip(pair.weights(), specs, strict=True)):
        model = to_keras(weights, spec, data.x_train)
        with tf.GradientTape() as tape:
            p = model(data.x_train, training=True)  # batch statistics, as every full-batch step uses
            loss = tf.reduce_mean(-(data.y_train * tf.math.log(p) + (1 - data.y_train) * tf.math.log(1 - p)))
        names = ["block1_entry", "block1_main_dense2", "block3_entry", "block3_main_dense1", "output"]
        kernels = [model.get_layer(n).kernel for n in names]
        theirs = tape.gradient(loss, kernels)
        g = pair.grads
        width = config.width if k else None  # the plain twin's padded rows are not its own
        mine = [g[0][k], g[2][k][1], g[6][k][1][:width], g[8][k][1][0], g[12][k][:width]]
        for name, a, b in zip(names, mine, theirs, strict=True):
            np.testing.assert_allclose(a, np.asarray(b), rtol=2e-3, atol=1e-6, err_msg=name)


def test_the_plain_twins_padding_stays_zero_and_the_shared_layers_start_alike() -> None:
    _, _, pair = _trained_pair(steps=20)
    width = pair.width
    assert not pair.arrays[6][1][:, width:].any() and not pair.arrays[12][1][width:].any()
    config = ExperimentConfig(depth=3, width=6, layers=2)
    fresh = make_pair(config, config.toy())
    np.testing.assert_array_equal(fresh.arrays[0][0], fresh.arrays[0][1])  # block 1's entry
    np.testing.assert_array_equal(fresh.arrays[8][0], fresh.arrays[8][1])  # every later main path
    scales = fresh.arrays[10]
    assert not scales[0][:, -1].any() and scales[1].all()  # the residual's quiet start; the plain one's 1s


def test_a_setback_is_the_share_of_the_progress_a_rise_undoes() -> None:
    assert _worst_setback([0.7, 0.5, 0.3, 0.1]) == 0.0
    assert _worst_setback([0.7, 0.1, 0.4, 0.05]) == pytest.approx(0.5)
    assert _worst_setback([0.7, 0.6, 1.9, 0.2]) >= 1.0  # a climb like the one the notebook once showed


def test_the_learning_rate_warms_up_over_a_tenth_then_eases_off_to_zero() -> None:
    config = ExperimentConfig(epochs=100, learning_rate=0.01)
    rates = [learning_rate_at(config, step) for step in range(100)]
    assert rates[0] == pytest.approx(0.001) and rates[9] == pytest.approx(0.01)
    assert all(a < b for a, b in zip(rates[:10], rates[1:10], strict=False))
    assert all(a >= b for a, b in zip(rates[10:], rates[11:], strict=False)) and rates[-1] < 1e-4


def test_an_experiment_runs_its_blas_single_threaded_and_gives_the_threads_back() -> None:
    from threadpoolctl import threadpool_info

    def blas_threads() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    before, during = blas_threads(), []
    run_experiment(ExperimentConfig(**TINY), on_snapshot=lambda _: during.append(blas_threads()))
    assert during and all(threads <= {1} for threads in during)
    assert blas_threads() == before


def test_an_experiment_needs_no_tensorflow() -> None:
    code = ("import sys; from rmlp.learn.experiment import ExperimentConfig, run_experiment; "
            "run_experiment(ExperimentConfig(depth=2, width=4, epochs=2, snapshot_every=1, samples=40)); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout
    assert "retracing" not in out.stderr and not out.stderr.strip(), out.stderr


# ---------------------------------------------------------------------- the figures
def test_the_gradient_chart_has_one_written_out_tick_per_power_of_ten() -> None:
    from rmlp.learn.figures import gradient_figure

    shots = {v: Snapshot(v, 5, 0.1, 0.1, 0.9, [0.02, 0.5, 7.0], np.zeros((1, 1)), 0.0) for v in ("residual", "plain")}
    axis = gradient_figure(shots).to_plotly_json()["layout"]["yaxis"]
    assert axis["type"] == "log" and axis["dtick"] == 1 and axis["tickformat"] == "~g"


def test_the_decision_surface_fills_the_axes_it_is_drawn_on() -> None:
    from rmlp.learn.figures import surface_figure

    result = run_experiment(ExperimentConfig(**TINY))
    data = ExperimentConfig(**TINY).toy()
    xs, ys = plane(data, result.final["plain"].surface.shape[0])
    layout = surface_figure(result.final["plain"], data).to_plotly_json()["layout"]
    assert layout["xaxis"]["range"] == [pytest.approx(xs[0]), pytest.approx(xs[-1])]
    assert layout["yaxis"]["range"] == [pytest.approx(ys[0]), pytest.approx(ys[-1])]
    assert layout["xaxis"]["constrain"] == "domain" and layout["yaxis"]["scaleanchor"] == "x"


# ---------------------------------------------------------------------- the lesson
#: Depth of the lesson's test and how far the residual network may fall below its own single-block score there.
LESSON_DEPTH, LESSON_SLACK = 16, 0.05


def _worst_setback(losses: list[float]) -> float:
    """The largest share of the progress made so far (start minus lowest loss yet) that a later rise undoes.

    0: the curve never rises; 1: it climbs back to where it started (the mid-run explosion this test rules out).
    """
    shares = [0.0]
    for i, loss in enumerate(losses):
        low = min(losses[:i + 1])
        if losses[0] > low:
            shares.append((loss - low) / (losses[0] - low))
    return max(shares)


@pytest.mark.slow
@pytest.mark.parametrize("data_name", [t for t in TOYS if t != "curve"])
def test_the_lesson_holds_at_the_defaults_on_every_seed(data_name: str) -> None:
    """At depth 16 the residual network is at least as good as the plain one and keeps within 0.05 of its own
    single-block score; its training loss falls to a tenth, and no rise on the way undoes a third of its progress."""
    for seed in (0, 1, 2):
        base = ExperimentConfig(data=data_name, seed=seed)
        shallow = run_experiment(base.model_copy(update={"depth": 1}), surfaces=False, record_gradients=False)
        deep = run_experiment(base.model_copy(update={"depth": LESSON_DEPTH}), surfaces=False,
                              record_gradients=False)
        res, plain, single = (deep.final["residual"].val_score, deep.final["plain"].val_score,
                              shallow.final["residual"].val_score)
        assert res >= plain, (seed, res, plain)
        assert res >= single - LESSON_SLACK, (seed, res, single)
        losses = [s.loss for s in deep.snapshots if s.variant == "residual"]
        assert _worst_setback(losses) < 1 / 3 and losses[-1] < 0.1 * losses[0], (seed, losses)


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
