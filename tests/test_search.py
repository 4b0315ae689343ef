"""Architecture search: the space, sampling (FixedTrial, property tests), caps, and the CLI end to end."""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FixedTrial
from typer.testing import CliRunner

from rmlp import ModelSpec, validate
from rmlp.design.validate import largest_decrement
from rmlp.search import (
    ParamSpace,
    SearchSpace,
    SpaceError,
    choose,
    default_space,
    pin,
    sample_spec,
    span,
)
from rmlp.search.config import DataSource, SearchConfig
from rmlp.search.objective import make_objective
from rmlp.search.sampling import grid_values
from rmlp.search.space import is_searchable
from rmlp.spec.edit import spec_fields
from rmlp.spec.problems import errors

ROOT = Path(__file__).resolve().parents[1]
WINE = ROOT / "sample_data" / "wine.csv"

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def tabular_spec(**changes: Any) -> ModelSpec:
    base = ModelSpec(input_shape=[13], num_outputs=3, blocks=[{"layers": 3, "width": 32, "decrement": 8}],
                     final_layers=[16])
    return base.copy_with(**changes) if changes else base


# ----------------------------------------------------------------------------- FixedTrial sampling
def test_fixed_trial_sets_every_sampled_path_with_stable_names() -> None:
    spec = tabular_spec()
    space = SearchSpace(params={
        "num_blocks": span(1, 3),
        "blocks[].layers": span(1, 6),
        "blocks[].width": span(8, 256, log=True),
        "blocks[].decrement": span(0, 64),
        "blocks[1].bypass": choose([], [16], [32, 16]),
        "activation": choose("relu", "gelu"),
        "optimizer.learning_rate": span(1e-4, 1e-2, log=True),
        "final_layers": choose([], [32], [64, 32]),
        "final_dropout": pin(0.1),
        "batch_size": choose(16, 64),
    })
    trial = FixedTrial({
        "num_blocks": 2, "blocks.0.layers": 4, "blocks.0.width": 40, "blocks.0.decrement": 9,
        "blocks.1.layers": 2, "blocks.1.width": 24, "blocks.1.decrement": 3, "blocks.1.bypass": "[32, 16]",
        "activation": "gelu", "optimizer.learning_rate": 0.003, "final_layers": "[64, 32]", "batch_size": 64,
    })
    sampled, batch_size = sample_spec(trial, spec, space)
    assert batch_size == 64
    assert [(b.layers, b.width, b.decrement, b.bypass) for b in sampled.blocks] == [
        (4, 40, 9, []), (2, 24, 3, [32, 16])]
    assert sampled.activation == "gelu"
    assert sampled.optimizer.learning_rate == pytest.approx(0.003)
    assert sampled.final_layers == [64, 32]
    assert sampled.final_dropout == pytest.approx(0.1)  # pinned, not a trial parameter
    assert "final_dropout" not in trial.params
    assert set(trial.params) >= {"blocks.0.width", "blocks.1.bypass", "optimizer.learning_rate"}
    assert not errors(validate(sampled))


def test_the_starting_design_is_reproduced_by_its_own_parameters() -> None:
    from rmlp.search.sampling import spec_params

    spec = tabular_spec(blocks=[{"layers": 4, "width": 64, "decrement": 12, "bypass": [32]},
                                {"layers": 1, "width": 16, "decrement": 0}], activation="gelu", final_layers=[64])
    space = default_space(spec, batch_size=64)
    params = spec_params(space, spec, batch_size=64)
    assert params["num_blocks"] == 2 and params["blocks.0.bypass"] == "[32]" and params["batch_size"] == 64
    sampled, batch_size = sample_spec(FixedTrial(params), spec, space, 64)
    assert sampled == spec and batch_size == 64
    # the main-path normalisation is searched both ways, and a design without it is reproduced too
    assert space.params["normalization"].choices == ["batchnorm", "none"]
    bare = spec.copy_with(normalization="none")
    assert sample_spec(FixedTrial(spec_params(space, bare, batch_size=64)), bare, space, 64)[0] == bare
    # a value outside the space is left for the sampler
    narrow = SearchSpace(params={"blocks[].width": span(8, 32), "activation": choose("relu")})
    assert spec_params(narrow, spec) == {"blocks.1.width": 16}


def test_blocks_that_do_not_exist_are_not_sampled() -> None:
    space = SearchSpace(params={"num_blocks": span(1, 4), "blocks[].width": span(8, 64)})
    trial = FixedTrial({"num_blocks": 1, "blocks.0.width": 20})  # no blocks.1.* needed
    sampled, _ = sample_spec(trial, tabular_spec(), space)
    assert len(sampled.blocks) == 1
    assert set(trial.params) == {"num_blocks", "blocks.0.width"}


def test_decrement_range_follows_layers_and_width() -> None:
    @dataclass
    class Recorder:
        """A trial that records the ranges it is asked for and returns the top of each."""

        asked: dict[str, Any]
        number: int = 0

        def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
            self.asked[name] = (low, high)
            return {"blocks.0.layers": 5, "blocks.0.width": 17}.get(name, high)

        def suggest_float(self, name: str, low: float, high: float, step: Any = None, log: bool = False) -> float:
            return high

        def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
            return choices[-1]

    rec = Recorder({})
    space = SearchSpace(params={"blocks[].layers": span(1, 8), "blocks[].width": span(8, 64),
                                "blocks[].decrement": span(0, 64)})
    sampled, _ = sample_spec(rec, tabular_spec(), space)
    assert rec.asked["blocks.0.decrement"] == (0, largest_decrement(5, 17)) == (0, 4)
    assert sampled.blocks[0].main_widths()[-1] == 1
    assert not errors(validate(sampled))


def test_one_layer_blocks_do_not_sample_a_decrement() -> None:
    space = SearchSpace(params={"blocks[].layers": span(1, 3), "blocks[].decrement": span(0, 10)})
    trial = FixedTrial({"blocks.0.layers": 1})
    sampled, _ = sample_spec(trial, tabular_spec(), space)
    assert sampled.blocks[0].decrement == 0
    assert "blocks.0.decrement" not in trial.params


def test_dropout_rates_are_only_sampled_where_they_matter() -> None:
    space = SearchSpace(params={"final_regularizer": choose("dropout", "batchnorm"),
                                "final_dropout": span(0.0, 0.5)})
    trial = FixedTrial({"final_regularizer": "batchnorm"})
    sample_spec(trial, tabular_spec(), space)
    assert "final_dropout" not in trial.params
    trial = FixedTrial({"final_regularizer": "dropout", "final_dropout": 0.3})
    sampled, _ = sample_spec(trial, tabular_spec(), space)
    assert sampled.final_dropout == pytest.approx(0.3)


def test_each_embedding_samples_only_its_own_settings() -> None:
    """The default space offers every embedding; a trial draws the bins only for the piecewise one and the
    frequencies only for the periodic one, and what it samples is a valid design."""
    space = default_space(tabular_spec())
    assert set(space.params["embedding"].choices or []) == {"none", "periodic", "piecewise"}
    for embedding, own, other in (("piecewise", "embedding_bins", "embedding_frequencies"),
                                  ("periodic", "embedding_frequencies", "embedding_bins")):
        trial = FixedTrial({"embedding": embedding, own: 8, "embedding_dim": 4, "embedding_scale": 0.1})
        sub = SearchSpace(params={k: v for k, v in space.params.items() if k.startswith("embedding")})
        sampled, _ = sample_spec(trial, tabular_spec(), sub)
        assert sampled.embedding == embedding and getattr(sampled, own) == 8 and sampled.embedding_dim == 4
        assert other not in trial.params and not errors(validate(sampled))


# ----------------------------------------------------------------------------- the space itself
def test_space_json_round_trip(tmp_path: Path) -> None:
    space = default_space(tabular_spec())
    path = space.save(tmp_path / "space.json")
    again = SearchSpace.load(path)
    assert again == space
    data = json.loads(path.read_text())
    assert data["params"]["blocks[].width"] == {"low": 8, "high": 512, "log": True}
    assert data["params"]["final_layers"]["choices"][0] == []


def test_default_space_comes_from_metadata_hints_and_includes_the_spec() -> None:
    spec = tabular_spec(blocks=[{"layers": 12, "width": 900, "decrement": 70}], activation="tanh")
    space = default_space(spec, batch_size=48)
    hinted = {p for p, m in spec_fields().items() if m.search and is_searchable(m) and p != "blocks"
              and not p.startswith("base_model")}
    assert hinted <= set(space.params)
    assert space.params["blocks[].layers"].high == 12
    assert space.params["blocks[].width"].high == 900
    assert "tanh" in space.params["activation"].choices
    assert 48 in space.params["batch_size"].choices
    assert space.check(spec) == []


@pytest.mark.parametrize(("entry", "path", "words"), [
    ({"low": 1, "high": 3}, "no_such_field", "not a field"),
    ({"low": 1, "high": 3}, "activation", "numeric"),
    ({"choices": ["relu", "nope"]}, "activation", "not one of"),
    ({"low": 0, "high": 0.5, "log": True}, "bypass_dropout", "log"),
    ({"low": 0.2, "high": 1.0}, "final_dropout", "must be ≥ 0 and < 1"),
    ({"low": 9, "high": 3}, "blocks[].width", "empty"),
    ({"choices": ["binary"]}, "task", "only pin"),
    ({"low": 1, "high": 3}, "blocks[].colour", "Blocks have no field"),
    ({"choices": []}, "activation", "empty"),
])
def test_space_check_reports_mistakes(entry: dict[str, Any], path: str, words: str) -> None:
    space = SearchSpace.from_dict({"params": {path: entry}})
    problems = space.check(tabular_spec())
    assert problems and words in problems[0].message, problems


def test_space_file_mistakes_are_space_errors(tmp_path: Path) -> None:
    with pytest.raises(SpaceError, match="exactly one"):
        SearchSpace.from_dict({"params": {"activation": {"pin": "relu", "choices": ["relu"]}}})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SpaceError, match="not valid JSON"):
        SearchSpace.load(bad)
    with pytest.raises(SpaceError, match="No search space file"):
        SearchSpace.load(tmp_path / "missing.json")


def test_pins_are_checked_against_the_spec() -> None:
    space = SearchSpace(params={"blocks[].width": pin(4), "blocks[].layers": pin(8), "activation": pin("gelu")})
    assert space.check(tabular_spec()) == []  # the decrement is clamped, so the pinned design is valid
    space = SearchSpace(params={"output_activation": pin("softmax"), "num_outputs": pin(1)})
    assert any("pinned" in p.message for p in space.check(tabular_spec()))


def test_grid_values_for_a_small_space() -> None:
    space = SearchSpace(params={"num_blocks": span(1, 2), "blocks[].width": choose(8, 16),
                                "optimizer.learning_rate": choose(0.001, 0.01)})
    grid = grid_values(space, tabular_spec())
    assert grid == {"num_blocks": [1, 2], "blocks.0.width": [8, 16], "blocks.1.width": [8, 16],
                    "optimizer.learning_rate": [0.001, 0.01]}
    with pytest.raises(SpaceError, match="step"):
        grid_values(SearchSpace(params={"final_dropout": span(0.0, 0.5)}), tabular_spec())


# ----------------------------------------------------------------------------- property tests
def _sample_many(spec: ModelSpec, space: SearchSpace, seed: int, n: int) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(n):
        trial = study.ask()
        sampled, batch_size = sample_spec(trial, spec, space)
        problems = errors(validate(sampled))
        assert not problems, (trial.params, problems)
        assert batch_size >= 1
        study.tell(trial, 0.0)


class CornerSampler(optuna.samplers.BaseSampler):
    """Always the smallest or largest value (or first / last choice), as a seeded coin says."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
        return {}

    def sample_relative(self, study: Any, trial: Any, search_space: dict[str, Any]) -> dict[str, Any]:
        return {}

    def sample_independent(self, study: Any, trial: Any, name: str, dist: Any) -> Any:
        top = bool(self.rng.integers(2))
        if isinstance(dist, CategoricalDistribution):
            return dist.choices[-1 if top else 0]
        assert isinstance(dist, (IntDistribution, FloatDistribution))
        return dist.high if top else dist.low


base_specs = st.builds(
    lambda layers, width, dec, n, task: ModelSpec(
        input_shape=[7], task=task, num_outputs={"multiclass": 4, "binary": 1, "regression": 1}[task],
        blocks=[{"layers": layers, "width": width, "decrement": min(dec, largest_decrement(layers, width))}] * n),
    st.integers(1, 12), st.integers(1, 600), st.integers(0, 80), st.integers(1, 3),
    st.sampled_from(["multiclass", "binary", "regression"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=base_specs, seed=st.integers(0, 10_000))
def test_every_spec_of_the_default_space_validates(spec: ModelSpec, seed: int) -> None:
    space = default_space(spec)
    assert space.check(spec) == []
    _sample_many(spec, space, seed, 8)
    _sample_corners(spec, space, seed, 4)


def _sample_corners(spec: ModelSpec, space: SearchSpace, seed: int, n: int) -> None:
    """``n`` trials drawn at the ends of every range all give valid specs."""
    study = optuna.create_study(sampler=CornerSampler(seed))
    for _ in range(n):
        trial = study.ask()
        sampled, _ = sample_spec(trial, spec, space)
        assert not errors(validate(sampled)), trial.params
        study.tell(trial, 0.0)


def _entry_for(draw: Any, path: str) -> ParamSpace:
    """A random valid entry for a searchable path, inside the field's metadata bounds."""
    meta = spec_fields()[path]
    if meta.kind == "choice":
        return ParamSpace(choices=draw(st.lists(st.sampled_from(list(meta.choices)), min_size=1, max_size=4,
                                                unique=True)))
    if meta.kind == "bool":
        return ParamSpace(choices=draw(st.lists(st.booleans(), min_size=1, max_size=2, unique=True)))
    if meta.kind == "int_list":
        item = st.integers(meta.low or 1, min(meta.high or 64, 64))
        lists = st.lists(item, min_size=meta.min_items or 0, max_size=min(meta.max_items or 3, 3))
        return ParamSpace(choices=draw(st.lists(lists, min_size=1, max_size=3)))
    if draw(st.booleans()):
        return ParamSpace(pin=meta.default if meta.default is not None else meta.low)
    if meta.kind == "int":
        lo_b, hi_b = int(meta.low or 0), int(min(meta.high or 64, 64 if path != "blocks[].decrement" else 40))
        lo = draw(st.integers(lo_b, hi_b))
        return span(lo, draw(st.integers(lo, hi_b)), step=draw(st.sampled_from([None, 1, 2])))
    lo_b = float(meta.low if meta.low is not None else 0.0)
    hi_b = float(meta.high if meta.high is not None else 1.0)
    eps = 1e-3 * (hi_b - lo_b)
    lo_b, hi_b = lo_b + (eps if meta.low_open else 0), hi_b - (eps if meta.high_open else 0)
    lo = draw(st.floats(lo_b, hi_b))
    hi = draw(st.floats(lo, hi_b))
    return span(lo, hi, log=bool(lo > 0 and meta.log and draw(st.booleans())))


@st.composite
def custom_spaces(draw: Any) -> SearchSpace:
    searchable = sorted(p for p, m in spec_fields().items() if is_searchable(m)
                        and not p.startswith("base_model") and not p.startswith("blocks"))
    block_fields = ["blocks[].layers", "blocks[].width", "blocks[].decrement", "blocks[].bypass"]
    chosen = draw(st.lists(st.sampled_from(searchable + block_fields), max_size=10, unique=True))
    params = {p: _entry_for(draw, p) for p in chosen}
    if draw(st.booleans()):
        params["num_blocks"] = span(1, draw(st.integers(1, 4)))
    if draw(st.booleans()):
        params["blocks[1].width"] = span(1, draw(st.integers(1, 50)))
    params["batch_size"] = choose(*draw(st.lists(st.integers(1, 256), min_size=1, max_size=3, unique=True)))
    return SearchSpace(params=params)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(space=custom_spaces(), spec=base_specs, seed=st.integers(0, 10_000))
def test_every_spec_of_a_random_custom_space_validates(space: SearchSpace, spec: ModelSpec, seed: int) -> None:
    assert space.check(spec) == [], space.check(spec)
    assert SearchSpace.from_json(space.to_json()) == space
    _sample_many(spec, space, seed, 5)
    _sample_corners(spec, space, seed, 3)


# ----------------------------------------------------------------------------- caps
@dataclass
class TinyData:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    task: str = "multiclass"


def test_caps_reject_samples_before_anything_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    import rmlp.keras.build

    def no_build(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a capped sample must not be built")

    monkeypatch.setattr(rmlp.keras.build, "build_model", no_build)
    data = TinyData(np.zeros((4, 13), "float32"), np.eye(3)[[0, 1, 2, 0]].astype("float32"),
                    np.zeros((2, 13), "float32"), np.eye(3)[[0, 1]].astype("float32"))
    space = SearchSpace(params={"blocks[].width": span(64, 128)}, max_params=1000)
    study = optuna.create_study()
    study.optimize(make_objective(tabular_spec(), space, data, SearchConfig(epochs=1)), n_trials=3)
    assert [t.state.name for t in study.trials] == ["PRUNED"] * 3
    assert all(t.user_attrs["rejected_by"] == "params_cap" and t.user_attrs["params"] > 1000 for t in study.trials)
    assert all("spec" in t.user_attrs for t in study.trials)

    space = SearchSpace(params={"blocks[].width": span(64, 128)}, max_memory_mb=1.0)
    study2 = optuna.create_study()
    study2.optimize(make_objective(tabular_spec(), space, data, SearchConfig(epochs=1)), n_trials=2)
    assert [t.user_attrs["rejected_by"] for t in study2.trials] == ["memory_cap"] * 2

    from rmlp.search.report import cap_counts, state_counts

    assert cap_counts(study) == {"params_cap": 3, "memory_cap": 0}
    assert cap_counts(study2) == {"params_cap": 0, "memory_cap": 2}
    assert state_counts(study) == {"PRUNED": 0, "REJECTED": 3}


def test_objective_with_a_fixed_trial_trains_and_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """FixedTrial drives the whole objective; the Keras part is stubbed so this stays fast."""
    import rmlp.search.objective as objective

    seen: dict[str, Any] = {}

    def fake_train(trial: Any, spec: ModelSpec, batch_size: int, data: Any, config: Any, stop: Any = None) -> float:
        seen.update(spec=spec, batch_size=batch_size)
        return 0.25

    monkeypatch.setattr(objective, "train_trial", fake_train)
    space = SearchSpace(params={"blocks[].width": span(8, 64), "batch_size": choose(8, 16)})
    trial = FixedTrial({"blocks.0.width": 20, "batch_size": 16})
    fn = make_objective(tabular_spec(), space, None, SearchConfig(two_objectives=True))
    value, params = fn(trial)
    assert value == 0.25
    assert seen["batch_size"] == 16 and seen["spec"].blocks[0].width == 20
    assert params == trial.user_attrs["params"]
    assert ModelSpec.from_json(trial.user_attrs["spec"]) == seen["spec"]
    assert trial.user_attrs["worker"].endswith(f":{os.getpid()}")


# ----------------------------------------------------------------------------- end to end (Keras)
def _cli() -> typer.Typer:
    from rmlp.cli.search import register

    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """rmlp test app."""

    register(app)
    return app


runner = CliRunner()


def _run(app: typer.Typer, *args: Any) -> Any:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in (result.output or "") + (result.stderr or "")
    return result


@pytest.fixture
def small_spec_and_space(tmp_path: Path) -> tuple[Path, Path]:
    spec = tabular_spec(blocks=[{"layers": 2, "width": 16, "decrement": 4}], final_layers=[8])
    spec_path = spec.save(tmp_path / "spec.json")
    space = SearchSpace(params={
        "num_blocks": span(1, 2), "blocks[].width": span(8, 24), "blocks[].layers": span(1, 2),
        "optimizer.learning_rate": span(1e-3, 1e-2, log=True), "activation": choose("relu", "gelu"),
        "batch_size": pin(64)}, max_params=200_000)
    return spec_path, space.save(tmp_path / "space.json")


@pytest.mark.slow
def test_cli_search_report_and_promote_end_to_end(tmp_path: Path, small_spec_and_space: tuple[Path, Path]) -> None:
    spec_path, space_path = small_spec_and_space
    app = _cli()
    storage = f"sqlite:///{tmp_path / 'studies' / 'wine.db'}"
    result = _run(app, "search", spec_path, "--space", space_path, "--data", WINE, "--target", "target",
                  "--n-trials", 4, "--epochs", 2, "--storage", storage, "--study", "wine", "--seed", 1,
                  "--metric", "val_accuracy")
    assert result.exit_code == 0, result.output
    assert "Best trials by val_accuracy (maximize)" in result.output
    assert "rmlp promote" in result.output

    from rmlp.search.storage import load_study

    study = load_study(storage, "wine")
    assert len(study.trials) == 4 and all(t.state.is_finished() for t in study.trials)
    assert all(ModelSpec.from_json(t.user_attrs["spec"]).input_shape == [13] for t in study.trials)

    report = _run(app, "search-report", "--storage", storage, "--study", "wine", "--figures", tmp_path / "fig")
    assert report.exit_code == 0, report.output
    assert "Study wine" in report.output and "parameters 0" in report.output
    assert (tmp_path / "fig" / "history.html").is_file()
    as_json = _run(app, "search-report", "--storage", storage, "--json")
    assert json.loads(as_json.output)["metric"] == "val_accuracy"

    runs = tmp_path / "runs"
    promoted = _run(app, "promote", "--storage", storage, "--study", "wine", "--data", WINE, "--target", "target",
                    "--epochs", 2, "--runs-dir", runs, "--seed", 1)
    assert promoted.exit_code == 0, promoted.output
    (run_dir,) = list(runs.iterdir())
    assert (run_dir / "model.keras").is_file() and (run_dir / "search.json").is_file()
    info = json.loads((run_dir / "search.json").read_text())
    assert info["trial"] == study.best_trial.number and info["retrained_on"] == "train+validation"
    with zipfile.ZipFile(run_dir / "bundle.zip") as zf:
        assert {"model.keras", "model.py", "spec.json"} <= set(zf.namelist())
    assert ModelSpec.load(run_dir / "spec.json") == ModelSpec.from_json(study.best_trial.user_attrs["spec"])


def test_cli_user_mistakes_give_messages_not_tracebacks(tmp_path: Path,
                                                        small_spec_and_space: tuple[Path, Path]) -> None:
    spec_path, space_path = small_spec_and_space
    app = _cli()
    missing = _run(app, "search", tmp_path / "nope.json", "--data", WINE, "--target", "target")
    assert missing.exit_code == 1 and "No spec file" in missing.stderr
    no_data = _run(app, "search", spec_path, "--data", tmp_path / "x.csv", "--target", "target")
    assert no_data.exit_code == 1 and "No data file" in no_data.stderr
    bad_space = tmp_path / "bad_space.json"
    bad_space.write_text(json.dumps({"params": {"activation": {"low": 1, "high": 2}}}))
    bad = _run(app, "search", spec_path, "--space", bad_space, "--data", WINE, "--target", "target",
               "--storage", f"sqlite:///{tmp_path / 's.db'}")
    assert bad.exit_code == 1 and "numeric" in bad.stderr
    metric = _run(app, "search", spec_path, "--space", space_path, "--data", WINE, "--target", "target",
                  "--metric", "val_rmse", "--storage", f"sqlite:///{tmp_path / 's.db'}")
    assert metric.exit_code == 1 and "val_accuracy" in metric.stderr
    target = _run(app, "search", spec_path, "--data", WINE, "--target", "no_such_column",
                  "--storage", f"sqlite:///{tmp_path / 's.db'}")
    assert target.exit_code == 1 and target.stderr.startswith("Error:")
    report = _run(app, "search-report", "--storage", f"sqlite:///{tmp_path / 's.db'}", "--study", "nope")
    assert report.exit_code == 1 and "no study 'nope'" in report.stderr
    url = _run(app, "search-report", "--storage", "not a url", "--study", "x")
    assert url.exit_code == 1 and "storage URL" in url.stderr
    space_out = _run(app, "search-space", spec_path, "-o", tmp_path / "default.json")
    assert space_out.exit_code == 0
    assert SearchSpace.load(tmp_path / "default.json").params["blocks[].width"].log


@pytest.mark.slow
def test_two_objectives_resume_and_stop(tmp_path: Path) -> None:
    import threading

    from rmlp.search import DataSource, run_search
    from rmlp.search.promote import promote
    from rmlp.search.report import figures, pareto_front
    from rmlp.search.storage import load_study

    spec = tabular_spec(blocks=[{"layers": 1, "width": 8, "decrement": 0}], final_layers=[])
    space = SearchSpace(params={"blocks[].width": span(4, 32), "batch_size": pin(128)})
    storage = f"sqlite:///{tmp_path / 'two.db'}"
    source = DataSource(str(WINE), "target")
    first = run_search(spec, source, space, n_trials=2, epochs=1, storage=storage, study_name="two",
                       two_objectives=True, sampler="random", seed=3)
    assert first.progress.complete == 2 and first.progress.pareto_size >= 1
    # resume: the same study name and storage add trials; nothing is lost
    stop = threading.Event()
    second = run_search(spec, source, space, n_trials=3, epochs=1, storage=storage, study_name="two",
                        two_objectives=True, sampler="random", seed=4, stop_event=stop,
                        progress=lambda p: stop.set())  # ask to stop after the first new trial
    assert second.stopped
    study = load_study(storage, "two")
    states = [t.state.name for t in study.trials]
    assert states.count("COMPLETE") == 3 and len(states) <= 4
    front = pareto_front(study)
    from rmlp.search.objective import SCORE

    # the front is named after the study's metric, the default score here
    assert len(front) >= 1 and list(front.columns) == ["trial", SCORE, "params"]
    assert {"history", "pareto"} <= set(figures(study))
    # a study with other objectives is not silently mixed in
    from rmlp.search import SearchError

    with pytest.raises(SearchError, match="already exists"):
        run_search(spec, source, space, n_trials=1, epochs=1, storage=storage, study_name="two")
    result = promote(storage, "two", source, epochs=1, runs_dir=tmp_path / "runs")
    assert result.bundle.is_file() and result.trial in set(front["trial"])


def test_run_search_grid_caps_and_resume_without_keras(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """run_search's own logic (grid sampler, caps counted, resuming a study) with training stubbed out."""
    import rmlp.search.objective as objective
    from rmlp.search import run_search
    from rmlp.search.report import cap_counts, trials_frame

    def fake_train(trial: Any, spec: ModelSpec, batch_size: int, data: Any, config: Any, stop: Any = None) -> float:
        trial.set_user_attr("epochs", 1)
        return spec.blocks[0].width / 100

    monkeypatch.setattr(objective, "train_trial", fake_train)
    data = TinyData(np.zeros((4, 13), "float32"), np.eye(3)[[0, 1, 2, 0]].astype("float32"),
                    np.zeros((2, 13), "float32"), np.eye(3)[[0, 1]].astype("float32"))
    data.class_names = ["a", "b", "c"]  # type: ignore[attr-defined]
    data.input_shape = [13]  # type: ignore[attr-defined]
    data.num_outputs = 3  # type: ignore[attr-defined]
    space = SearchSpace(params={"blocks[].width": choose(8, 16, 400), "activation": choose("relu", "gelu")},
                        max_params=20_000)
    storage = f"sqlite:///{tmp_path / 'grid.db'}"
    result = run_search(tabular_spec(), data, space, n_trials=4, storage=storage, study_name="g", sampler="grid",
                        epochs=1)
    frame = trials_frame(result.load_study())
    assert result.progress.done == 4
    again = run_search(tabular_spec(), data, space, n_trials=2, storage=storage, study_name="g", sampler="grid",
                       epochs=1)
    study = again.load_study()
    assert len(study.trials) == 6  # resumed: the grid's six points, none repeated
    assert sorted((t.params["blocks.0.width"], t.params["activation"]) for t in study.trials) == sorted(
        (w, a) for w in (8, 16, 400) for a in ("relu", "gelu"))
    assert cap_counts(study) == {"params_cap": 2, "memory_cap": 0}  # width 400 is over the cap
    assert again.progress.rejected == {"params_cap": 2, "memory_cap": 0}
    assert study.best_trial.params["blocks.0.width"] == 8
    assert {"note", "p:blocks.0.width"} <= set(frame.columns)


def test_planning_helpers_for_the_page() -> None:
    from rmlp.search.planning import estimate_cost, format_list_choices, parse_list_choices, space_rows

    assert parse_list_choices("none; 64; 128, 64") == [[], [64], [128, 64]]
    assert format_list_choices([[], [64], [128, 64]]) == "none; 64; 128, 64"
    with pytest.raises(ValueError, match="whole numbers"):
        parse_list_choices("64; wide")
    cost = estimate_cost(10, 5, first_epoch_s=3.0, epoch_s=0.5, workers=2, cpus=2)
    assert cost.seconds_per_trial == pytest.approx(5.0) and cost.total_seconds == pytest.approx(25.0)
    assert estimate_cost(10, 5, 3.0, 0.5, workers=8, cpus=2).total_seconds == pytest.approx(25.0)
    rows = {r.path: r for r in space_rows(tabular_spec())}
    assert rows["num_blocks"].kind == "int" and rows["blocks[].width"].block_field
    assert rows["activation"].choices == tuple(spec_fields()["activation"].choices)


def test_search_settings_reach_the_sampler_and_pruner() -> None:
    from rmlp.search.study import make_pruner, make_sampler

    spec = tabular_spec()
    sampler = make_sampler(SearchConfig(n_startup_trials=7), 0, SearchSpace(), spec)
    assert isinstance(sampler, optuna.samplers.TPESampler) and sampler._n_startup_trials == 7
    grid = make_sampler(SearchConfig(sampler="grid"), 0, SearchSpace(params={"activation": choose("relu", "gelu")}),
                        spec)
    assert isinstance(grid, optuna.samplers.GridSampler)
    assert isinstance(make_pruner(SearchConfig(pruner="hyperband")), optuna.pruners.HyperbandPruner)
    assert isinstance(make_pruner(SearchConfig(two_objectives=True)), optuna.pruners.NopPruner)
    assert SearchConfig(metric="val_accuracy").directions() == ["maximize"]
    assert SearchConfig(two_objectives=True).directions() == ["minimize", "minimize"]


def test_run_search_refuses_settings_that_do_not_fit_before_any_work(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from rmlp.search.runner import run_search
    from rmlp.spec.problems import SettingsError

    monkeypatch.chdir(tmp_path)  # the default storage's folder, studies/, is relative to the working folder
    with pytest.raises(SettingsError) as exc:
        run_search(tabular_spec(), DataSource(str(WINE), "target"), n_trials=0, workers=0, colour="red")
    assert {"n_trials", "workers", "colour"} <= {p.path for p in exc.value.problems}
    assert not any(tmp_path.iterdir())  # no storage, study or data was made
    from rmlp.search.storage import default_storage, open_storage

    open_storage(default_storage("wine"), heartbeat=False)  # what the search would have opened: it lands here
    assert (tmp_path / "studies" / "wine.db").is_file()
