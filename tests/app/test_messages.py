"""Messages the app shows: true, whole, in words, near where the user acts, and never two versions of one thing."""

from __future__ import annotations

import threading

from apptest_helpers import open_page
from streamlit.testing.v1 import AppTest

from designer_app import jobs
from rmlp.runs.events import TrainEvent


def _running_job() -> jobs.Job:
    """A job that says it is in epoch 25 of 40, then waits until stopped."""
    def target(listener: jobs.Listener, stop: threading.Event) -> None:
        for n in range(1, 25):
            listener(TrainEvent("epoch", epoch=n, epochs=40, progress=n / 40, logs={"loss": 1.0 / n}))
        listener(TrainEvent("batch", epoch=25, epochs=40, batch=3, batches=8, progress=24.4 / 40))
        stop.wait(60)

    def started(event: object) -> bool:
        return getattr(event, "kind", "") in ("batch", "epoch")

    job = jobs.Job(target, name="a test run", info={"epochs": 40}, begun=started,
                   coalesce=lambda e: "batch" if e.kind == "batch" else None).start()
    for _ in range(100):
        if job.snapshot().latest.get("batch") is not None:
            break
        threading.Event().wait(0.05)
    return job


def _progress_texts(node: object) -> list[str]:
    return [p.proto.text for p in node.get("progress")]  # type: ignore[attr-defined]


def test_the_sidebar_and_the_train_page_never_show_two_different_epochs(app: AppTest) -> None:
    job = _running_job()
    try:
        at = app.run()
        at.session_state["rmlp.job"] = job
        at = open_page(at, "train")
        page = _progress_texts(at.main)
        assert any("epoch 25/40" in t for t in page), page
        assert not _progress_texts(at.sidebar)  # the page shows the progress; the sidebar only points to it
        assert any("progress is shown on this page" in c.value for c in at.sidebar.caption)
        at = open_page(at, "design")  # elsewhere, the sidebar shows the same epoch
        assert any("epoch 25/40" in t for t in _progress_texts(at.sidebar)), _progress_texts(at.sidebar)
    finally:
        job.stop()
        job.wait(10)


def _order(at: AppTest) -> list[tuple[str, str]]:
    """(type, text) of the page's elements, in the order they are drawn."""
    from apptest_helpers import walk

    found = []
    for e in walk(at.main):
        kind = getattr(e, "type", "")
        text = getattr(e, "label", None) if kind == "button" else getattr(e, "value", None)
        if kind in ("button", "success", "info", "caption", "error") and isinstance(text, str):
            found.append((kind, text))
    return found


def test_use_this_data_says_what_it_did_right_under_the_button_and_only_offers_it_with_the_button(
        app: AppTest) -> None:
    from apptest_helpers import widget

    at = widget(open_page(app, "data"), "button", "Use this data").click().run()
    order = _order(at)
    button = order.index(("button", "Use this data"))
    after = [t for _, t in order[button + 1:]]
    assert "Using wine.csv for training." in after and any("Input shape set to [13]" in t for t in after), order
    assert not any("Using wine.csv" in t for _, t in order[:button])  # not at the top, out of sight
    at = widget(at, "selectbox", "Sample data set").select("diabetes.csv").run()
    order = _order(at)
    note = next(t for k, t in order if "not the data in use" in t)
    assert "Press" not in note  # the note above never asks for a button that may not be there
    button = order.index(("button", "Use this data"))
    assert order[button - 1] == ("caption", "Press **Use this data** to train on diabetes.csv instead of wine.csv.")


def test_open_json_lists_every_problem_under_the_bar_outside_the_popover(app: AppTest) -> None:
    from apptest_helpers import open_popover

    at = open_popover(app.run(), "open_json_popover")
    bad = b'{"blocks": "many", "num_outputs": "ten"}'
    at.get("file_uploader")[0].set_value(("bad.json", bad, "application/json"))
    at = at.run()
    assert at.session_state["open_json_popover"] is False  # closed: the message is in sight
    errors = [e.value for e in at.main.error if "not a usable design" in e.value]
    assert errors and errors[0].count("\n- ") >= 2, errors
    assert "Classes / outputs:" in errors[0] and "num_outputs" not in errors[0]  # the field's label, not its path


def test_the_sizing_notice_names_only_what_was_sized() -> None:
    from rmlp.runs.config import TrainConfig

    _, notices = TrainConfig(epochs=300).sized(210)
    assert notices and notices[0].startswith("Batch size sized to the 210 training rows") and "300 epochs you set" in \
        notices[0]
    _, notices = TrainConfig(batch_size=32).sized(210)
    assert notices[0].startswith("Epochs sized to the 210 training rows") and "batches of 32" in notices[0]
    assert TrainConfig(epochs=300, batch_size=32).sized(210)[1] == []


def test_a_training_stopped_before_it_began_says_so_and_nothing_else(app: AppTest) -> None:
    from apptest_helpers import widget

    at = widget(open_page(app, "data"), "button", "Use this data").click().run()
    at = open_page(at, "train")
    at = widget(at, "button", "Start training").click().run()
    at = widget(at, "button", "Stop").click().run()
    at = at.run()
    texts = [t for _, t in _order(at)]
    assert any("Stopped before training began" in t for t in texts), texts
    assert not any("Building the model" in t for t in texts), texts
    at.session_state["rmlp.job"]._thread.join(120)  # the worker lets go of TensorFlow before the test ends


def test_a_design_without_batch_normalisation_is_never_described_with_it() -> None:
    from rmlp import ModelSpec
    from rmlp.design.graph import to_dot
    from rmlp.export import export_python

    plain = ModelSpec(normalization="none")
    assert "BN" not in to_dot(plain) and "batch normalisation" not in to_dot(plain)
    assert "each with batch normalisation" not in export_python(plain)
    with_bn = ModelSpec()
    assert "Dense + BN" in to_dot(with_bn) and "each with batch normalisation" in export_python(with_bn)


def test_the_script_download_is_named_as_its_own_help_says(app: AppTest) -> None:
    at = open_page(app, "export")
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Python script (model.py)" in labels, labels


def test_the_search_estimate_follows_the_time_limit() -> None:
    from rmlp.search.planning import estimate_cost

    free = estimate_cost(20, 10, first_epoch_s=3.0, epoch_s=1.3, workers=1, cpus=2)
    limited = estimate_cost(20, 10, first_epoch_s=3.0, epoch_s=1.3, workers=1, cpus=2, timeout=60)
    assert "about 5 min with 1 worker " in free.text() and "worker(s)" not in free.text()
    assert limited.limited and limited.text() != free.text()
    assert "time limit of 60 s ends the search after about 4 trials" in limited.text()
    roomy = estimate_cost(2, 10, first_epoch_s=3.0, epoch_s=1.3, workers=1, cpus=2, timeout=600)
    assert not roomy.limited and "within the time limit of 10 min" in roomy.text()


def test_a_search_that_ended_before_its_trials_says_why() -> None:
    from designer_app.search_view import ended_early

    def snap(status: str, elapsed: float, stop: bool = False, timeout: float | None = 60.0) -> jobs.Snapshot:
        return jobs.Snapshot(id="s", name="search", status=status, events=(), latest={}, result=None, error="",
                             traceback="", started_at=0.0, finished_at=elapsed, info={"timeout": timeout},
                             stop_requested=stop)

    assert ended_early(snap("done", 61.0), 14, 20).startswith("The time limit of 60 s ended the search after 14 of 20")
    assert ended_early(snap("stopped", 10.0, stop=True), 3, 20).startswith("Stopped by you after 3 of 20 trials")
    assert ended_early(snap("done", 61.0), 20, 20) == ""
    assert ended_early(snap("running", 30.0), 5, 20) == ""


def test_metric_names_read_as_words() -> None:
    from designer_app.metric_names import metric_label

    assert metric_label("val_score").startswith("Validation score (")
    assert metric_label("val_top3_accuracy") == "Validation top-3 accuracy"
    assert metric_label("rmse") == "RMSE" and metric_label("loss") == "Loss"


def test_the_search_page_names_fields_in_words_and_numbers_without_trailing_zeros(app: AppTest) -> None:
    from apptest_helpers import widget

    at = widget(open_page(app, "data"), "button", "Use this data").click().run()
    at = at.switch_page("../pages/search.py").run()
    searching = next(c.value for c in at.caption if c.value.startswith("Searching"))
    assert "Dense layers (j)" in searching and "blocks[]" not in searching and "num_blocks" not in searching
    cap = widget(at, "number_input", "Training memory cap (MiB)")
    assert cap.proto.format == "%g"
    metric = widget(at, "selectbox", "Metric")
    assert metric.format_func("val_score").startswith("Validation score")


def test_the_design_explainer_mentions_batch_normalisation_only_when_the_design_has_it(app: AppTest) -> None:
    from rmlp import ModelSpec

    at = open_page(app, "design")
    assert any("each with batch normalisation" in m.value for m in at.main.markdown)
    at.session_state["rmlp.spec"] = ModelSpec(normalization="none").to_dict()
    at.session_state["rmlp.spec_obj"] = ModelSpec(normalization="none")
    at = at.run()
    shown = "\n".join(m.value for m in at.main.markdown)
    assert "What is a residual MLP" not in shown or "each with batch normalisation" not in shown
    assert "no batch normalisation there" in shown


def test_the_blocks_table_headers_and_cells_fit_their_columns(app: AppTest) -> None:
    import json

    at = open_page(app, "design")
    columns = json.loads(at.data_editor[0].proto.columns)
    for name in ("layers", "width", "decrement", "bypass"):
        label, width = columns[name]["label"], columns[name]["width"]
        assert 8 * len(label) + 24 <= width, (label, width)  # about 8 px a character, 24 px of padding
    frame = at.data_editor[0].value
    assert all(len(text) <= 16 for text in frame["main path"]), list(frame["main path"])
    assert "j: Dense layers of the main path" in "\n".join(c.value for c in at.main.caption)


def test_search_figures_name_parameters_from_block_1_and_the_metric_in_words() -> None:
    import optuna
    import optuna.visualization as vis

    from designer_app.search_view import readable_figure

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_int("blocks.0.decrement", 0, 32) / 10 + t.suggest_int("num_blocks", 1, 3)
                   + t.suggest_float("optimizer.learning_rate", 1e-4, 1e-2, log=True), n_trials=8)
    importance = readable_figure(vis.plot_param_importances(study, target_name="val_score"), "val_score")
    names = set(importance.data[0].y)
    assert "Block 1: Decrement (l)" in names and "Number of blocks" in names and not any("." in n for n in names)
    params = ["blocks.0.decrement", "num_blocks", "optimizer.learning_rate"]
    parallel = readable_figure(vis.plot_parallel_coordinate(study, target_name="val_score"), "val_score", params)
    labels = [str(t).replace("<br>", " ") for t in parallel.layout.xaxis.ticktext]
    assert labels[0].startswith("Validation score") and "Block 1: Decrement (l)" in labels
    assert "Learning rate" in labels and not any("blocks." in lbl or "..." in lbl for lbl in labels), labels


def test_the_trial_table_shows_words_and_empty_cells_instead_of_none() -> None:
    import pandas as pd

    from designer_app.search_view import readable_trials

    frame = pd.DataFrame({"trial": [0, 1], "state": ["COMPLETE", "FAIL"], "val_score": [0.1, None],
                          "note": [None, "the given design does not fit"], "worker": ["a", "b"],
                          "p:blocks.0.width": [32, None], "p:optimizer.batch_size": [None, "x"]})
    shown = readable_trials(frame)
    assert any(str(c).startswith("Validation score (") for c in shown.columns), list(shown.columns)
    assert "Block 1: First width (k)" in shown.columns and "worker" not in shown.columns
    text = shown.astype(str).to_string()
    assert "None" not in text and "nan" not in text.lower() and list(shown["State"]) == ["finished", "failed"]
    assert list(shown["Block 1: First width (k)"]) == ["32", ""]


def test_a_run_ended_by_early_stopping_says_so_on_the_train_page(app: AppTest) -> None:
    def target(listener: jobs.Listener, stop: threading.Event) -> None:
        listener(TrainEvent("epoch", epoch=1, epochs=40, progress=1 / 40))
        listener(TrainEvent("train_end", epoch=16, epochs=40, progress=1.0,
                            message="Finished early after 16 of 40 epochs: the validation score stopped improving."))

    job = jobs.Job(target, name="a test run", info={"epochs": 40}).start()
    job.wait(10)
    at = app.run()
    at.session_state["rmlp.job"] = job
    at = open_page(at, "train")
    said = [s.value for s in at.main.success]
    assert any(s.startswith("Finished early after 16 of 40 epochs") for s in said), said
