"""The Search page (AppTest): search toggles next to the design's controls, a stored study, open the best."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from streamlit.testing.v1 import AppTest

from designer_app.links import encode_spec
from rmlp import ModelSpec

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "designer_app" / "app.py"
SMALL = ModelSpec(input_shape=[13], num_outputs=3, blocks=[{"layers": 2, "width": 16, "decrement": 4}],
                  final_layers=[8])


def _widget(at: AppTest, kind: str, label: str, index: int = 0) -> Any:
    found = [w for w in getattr(at, kind) if w.label == label]
    assert len(found) > index, f"no {kind} {label!r}: {[w.label for w in getattr(at, kind)]}"
    return found[index]


def _search_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("RMLP_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("RMLP_STUDIES_DIR", str(tmp_path / "studies"))
    monkeypatch.setenv("RMLP_APP_ALLOW_STORAGE", f"sqlite:///{tmp_path / 'made.db'}")  # as rmlp app --allow-storage
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.query_params["spec"] = encode_spec(SMALL)
    at.run()
    at = at.switch_page("../pages/data.py").run()
    at = _widget(at, "button", "Use this data").click().run()  # the first sample: wine
    at = at.switch_page("../pages/search.py").run()
    assert not at.exception, at.exception
    return at


def _searching(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Searching"))


def _made_study(tmp_path: Path) -> tuple[str, ModelSpec]:
    storage = f"sqlite:///{tmp_path / 'made.db'}"
    study = optuna.create_study(storage=storage, study_name="made")
    study.set_user_attr("rmlp", {"metric": "val_loss"})
    best = SMALL.copy_with(blocks=[{"layers": 3, "width": 24, "decrement": 5}], activation="gelu")
    for value, spec in ((0.9, SMALL), (0.3, best)):
        study.add_trial(optuna.trial.create_trial(
            value=value, params={"blocks.0.width": spec.blocks[0].width},
            distributions={"blocks.0.width": optuna.distributions.IntDistribution(8, 32)},
            user_attrs={"spec": spec.to_json(indent=None), "batch_size": 16, "params": 100}))
    return storage, best


def test_search_page_toggles_a_stored_study_and_opens_the_best(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    at = _search_page(tmp_path, monkeypatch)
    assert _searching(at).startswith("Searching 5 fields")
    at = _widget(at, "toggle", "search").set_value(False).run()  # the number of blocks: as designed
    assert _searching(at).startswith("Searching 4 fields")
    assert any("as designed (1)" in m.value for m in at.markdown)
    # a range that is empty is reported, and nothing can start
    at = _widget(at, "number_input", "from").set_value(30).run()  # blocks[].layers: 30 > 8
    assert any("empty" in e.value for e in at.error), [e.value for e in at.error]
    assert _widget(at, "button", "Start search").disabled
    at = _widget(at, "number_input", "from").set_value(1).run()
    assert not at.error
    # a stored study (as other machines would make it) is shown, and its best design opened
    storage, best = _made_study(tmp_path)
    at = _widget(at, "text_input", "Study name").set_value("made").run()
    at = _widget(at, "text_input", "Storage URL").set_value(storage).run()
    at = _widget(at, "button", "Show this study").click().run()
    assert not at.exception, at.exception
    assert len(at.dataframe) >= 1
    at = _widget(at, "button", "Open the best design (trial 1) in the designer").click().run()
    assert at.session_state["rmlp.spec"]["blocks"] == [b.model_dump() for b in best.blocks]
    assert at.session_state["rmlp.spec"]["activation"] == "gelu"
    assert any("Opened the best design" in s.value for s in at.success)


def test_search_settings_are_drawn_from_their_declarations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from designer_app.widgets import shown_settings
    from rmlp.search.config import SearchConfig

    at = _search_page(tmp_path, monkeypatch)
    labels = {w.label for kind in ("number_input", "toggle", "selectbox", "text_input") for w in getattr(at, kind)}
    for group in ("", "advanced", "storage"):
        for name in shown_settings(SearchConfig, group):
            assert SearchConfig.meta(name).label in labels, name
    assert "Random trials first" in labels  # the TPE setting, declared once in SearchConfig
    at = _widget(at, "selectbox", "Sampler").set_value("random").run()
    assert _widget(at, "number_input", "Random trials first").disabled  # it only applies to TPE
    metric = _widget(at, "selectbox", "Metric")
    assert "Validation accuracy" in metric.options and "Validation RMSE" not in metric.options  # the task's own
    assert metric.value == "val_score" and metric.options[0].startswith("Validation score")  # the default, first
    assert "Score ensembles on folds" in labels  # how an ensemble design's trials are scored


@pytest.mark.slow
def test_search_page_runs_a_search_in_worker_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _search_page(tmp_path, monkeypatch)
    at = _widget(at, "number_input", "Trials").set_value(2).run()
    at = _widget(at, "number_input", "Epochs per trial").set_value(1).run()
    at = _widget(at, "button", "Start search").click().run()
    job = at.session_state["rmlp.search"].job
    deadline = time.time() + 240
    while not job.finished and time.time() < deadline:
        job.wait(2.0)
        at.run()
    assert job.status == "done", job.snapshot().error
    at = at.run()
    assert not at.exception, at.exception
    result = job.snapshot().result
    assert result.progress.done == 2 and result.worker_exits == [0]
    charts = [e for e in at.main.children.values()]  # the page drew; plotly charts are below
    assert charts
    assert any(b.label.startswith("Open the best design") for b in at.button)


# ---------------------------------------------------------------------- issue 13: timing, opening the best, the table
def test_measuring_one_epoch_polls_until_done_then_shows_the_cost(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The timing job is watched by a polling fragment, which stops (one rerun) once the job has ended."""
    import threading

    import streamlit as st

    from designer_app import search_view
    from rmlp.search.objective import EpochTiming

    release = threading.Event()

    def fake_time_epochs(spec: ModelSpec, data: Any, batch_size: int = 32) -> EpochTiming:
        release.wait(30)
        return EpochTiming(first_s=2.5, next_s=0.5, params=100)

    polls: list[tuple[str, Any]] = []
    real_fragment = st.fragment

    def spy(func: Any = None, *, run_every: Any = None, **kwargs: Any) -> Any:
        def wrap(f: Any) -> Any:
            polls.append((f.__name__, run_every))
            return real_fragment(f, run_every=run_every, **kwargs)

        return wrap(func) if func is not None else wrap

    monkeypatch.setattr(search_view, "time_epochs", fake_time_epochs)
    at = _search_page(tmp_path, monkeypatch)
    monkeypatch.setattr(st, "fragment", spy)
    at = _widget(at, "button", "Measure one epoch").click().run()
    assert any(c.value.startswith("Timing the current design") for c in at.caption)
    assert [every for name, every in polls if name == "timing_status"][-1], "nothing polls the running timing job"
    release.set()
    job = at.session_state["rmlp.search"].timing_job
    assert job.wait(30)
    at = at.run()  # what the fragment's timer does
    assert any(i.value.startswith("One epoch: 2.5 s first") for i in at.info), [i.value for i in at.info]
    assert [every for name, every in polls if name == "timing_status"][-1] is None  # no more polling


def test_opening_the_best_design_goes_to_the_design_page_and_names_the_trial(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    at = _search_page(tmp_path, monkeypatch)
    storage, best = _made_study(tmp_path)
    at = _widget(at, "text_input", "Study name").set_value("made").run()
    at = _widget(at, "text_input", "Storage URL").set_value(storage).run()
    at = _widget(at, "button", "Show this study").click().run()
    at = _widget(at, "button", "Open the best design (trial 1) in the designer").click().run()
    assert not at.exception, at.exception
    assert any(t.value == "Design a residual MLP" for t in at.title), [t.value for t in at.title]
    opened = [s.value for s in at.success if "Opened the best design" in s.value]
    assert opened and "trial 1" in opened[0] and "val_loss 0.3" in opened[0], opened
    assert at.session_state["rmlp.spec"]["activation"] == "gelu"


def test_the_trial_table_has_readable_columns_and_keeps_the_raw_ones_apart(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    at = _search_page(tmp_path, monkeypatch)
    storage, _ = _made_study(tmp_path)
    at = _widget(at, "text_input", "Study name").set_value("made").run()
    at = _widget(at, "text_input", "Storage URL").set_value(storage).run()
    at = _widget(at, "button", "Show this study").click().run()
    shown = at.dataframe[0].value
    columns = list(shown.columns)
    assert columns[:3] == ["Trial", "State", "Validation loss"], columns
    assert {"Parameters", "Batch size", "Note", "Block 1: First width (k)"} <= set(columns), columns
    assert not {"retry_of", "worker", "rejected_by"} & set(columns), columns
    assert set(shown["State"]) == {"finished"}
    raw = [d.value for d in at.dataframe if "worker" in d.value.columns]
    assert raw and "retry_of" in raw[0].columns  # still there, in the expander
    assert any(d.label == "Download the trials (.csv)" for d in at.get("download_button"))
