"""The Design page: widgets from the metadata, live validation, summary and graph, presets, the URL."""

from __future__ import annotations

import subprocess
import sys

from apptest_helpers import (
    APP,
    ROOT,
    alerts_in,
    container_of,
    dot_of,
    figure_value,
    open_popover,
    open_section,
    sidebar_parameters,
    widget,
)
from streamlit.testing.v1 import AppTest

from designer_app.links import decode_spec, encode_spec
from rmlp import BlockSpec, ModelSpec, summarize
from rmlp.spec.units import human_count


def _spec(at: AppTest) -> ModelSpec:
    return ModelSpec.model_validate(at.session_state["rmlp.spec"])


def _edit_blocks(at: AppTest, edits: dict) -> AppTest:
    """Seed the blocks table's edit state (what the browser would send) and rerun."""
    key = at.data_editor[0].key
    at.session_state[key] = {"edited_rows": {}, "added_rows": [], "deleted_rows": []} | edits
    return at.run()


def test_design_page_draws_controls_summary_and_graph(app: AppTest) -> None:
    at = app.run()
    assert not at.exception
    spec = _spec(at)
    assert spec == ModelSpec()
    assert figure_value(at, "Parameters") == human_count(summarize(spec).total_params)
    assert sidebar_parameters(at) == figure_value(at, "Parameters")
    assert "Dense 400" in dot_of(at)
    assert at.data_editor, "the Blocks tab is open first"
    # every control is generated with the metadata's label and help text
    at = open_section(at, "Optimizer")
    learning_rate = widget(at, "number_input", "Learning rate")
    assert learning_rate.help and "Step size" in learning_rate.help
    at = open_section(at, "Around blocks")
    assert widget(at, "slider", "Bypass dropout rate").value == 0.35
    assert not at.data_editor, "only the open tab is drawn"


def test_changing_a_block_width_updates_spec_summary_and_graph(app: AppTest) -> None:
    at = app.run()
    before = figure_value(at, "Parameters")
    at = _edit_blocks(at, {"edited_rows": {0: {"width": 300}}})
    assert not at.exception
    spec = _spec(at)
    assert spec.blocks[0].width == 300
    after = figure_value(at, "Parameters")
    assert after != before
    assert after == human_count(summarize(spec).total_params) == sidebar_parameters(at)
    dot = dot_of(at)
    assert "Dense 300" in dot and "Dense 400" not in dot
    # the URL holds the new design
    token = at.query_params["spec"]
    assert decode_spec(token[0] if isinstance(token, list) else token) == spec


def test_an_invalid_block_shows_its_message_next_to_the_table_with_a_fix(app: AppTest) -> None:
    at = app.run()
    at = _edit_blocks(at, {"edited_rows": {0: {"decrement": 200}}})
    assert _spec(at).blocks[0].decrement == 200
    table_box = container_of(at, lambda e: getattr(e, "type", "") == "dataframe")
    messages = alerts_in(table_box)
    assert any("Block 1 shrinks below one unit" in m for m in messages), messages
    assert "1 error" in at.sidebar.error[0].value
    fix = [b for b in at.button if b.label.startswith("Apply fix")]
    assert fix, "no one-click fix offered"
    at = fix[0].click().run()
    assert _spec(at).blocks[0].decrement == 99  # (400 - 1) // (5 - 1)
    assert not any("shrinks" in m for m in alerts_in(at.main))
    # a problem in a closed tab is listed under the tabs, naming its tab
    at = open_section(at, "Around blocks")
    at = _edit_blocks(open_section(at, "Blocks"), {"edited_rows": {0: {"decrement": 200}}})
    at = open_section(at, "Input")
    assert any(m.startswith("*Blocks*") and "shrinks" in m for m in alerts_in(at.main))


def test_block_rows_can_be_added_duplicated_and_removed(app: AppTest) -> None:
    at = app.run()
    at = _edit_blocks(at, {"added_rows": [{"layers": 2, "width": 64, "decrement": 8, "bypass": "16"}]})
    assert _spec(at).blocks[1] == BlockSpec(layers=2, width=64, decrement=8, bypass=[16])
    at = open_popover(at, "block_actions")
    at = widget(at, "button", "Duplicate").click().run()
    assert len(_spec(at).blocks) == 3 and _spec(at).blocks[2] == _spec(at).blocks[1]
    at = widget(at, "button", "Remove").click().run()
    assert len(_spec(at).blocks) == 2
    assert "Block 2" in dot_of(at)


def test_a_bad_list_shows_a_message_below_its_control(app: AppTest) -> None:
    at = open_section(app.run(), "Around blocks")
    at = widget(at, "text_input", "Final Dense widths").input("64, 32").run()
    assert _spec(at).final_layers == [64, 32]
    at = widget(at, "text_input", "Final Dense widths").input("64, abc").run()
    assert _spec(at).final_layers == [64, 32]
    box = container_of(at, lambda e: getattr(e, "label", "") == "Final Dense widths")
    assert any("'abc' is not a whole number" in m for m in alerts_in(box))


def test_a_preset_loads(app: AppTest) -> None:
    at = open_popover(app.run(), "presets_popover")
    at = widget(at, "button", "Deep: 14 blocks").click().run()
    spec = _spec(at)
    assert spec.name == "deep_14" and len(spec.blocks) == 14
    assert "compact view" in dot_of(at)
    assert figure_value(at, "Parameters") == human_count(summarize(spec).total_params)
    assert any("Preset 'deep_14' loaded" in s.value for s in at.success)
    # the widgets re-read the new design
    at = open_section(at, "Around blocks")
    assert widget(at, "slider", "Bypass dropout rate").value == 0.25


def test_a_shared_link_restores_the_design() -> None:
    spec = ModelSpec(name="shared", blocks=[BlockSpec(layers=2, width=50, decrement=5)] * 3, final_layers=[20])
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["spec"] = encode_spec(spec)
    at.run()
    assert _spec(at) == spec
    assert len(encode_spec(spec)) < 400
    broken = AppTest.from_file(str(APP), default_timeout=60)
    broken.query_params["spec"] = "not-a-design"
    broken.run()
    assert _spec(broken) == ModelSpec()
    assert any("could not be read" in w.value for w in broken.warning)


def test_a_json_upload_replaces_the_design_and_a_bad_one_is_refused(app: AppTest) -> None:
    at = open_popover(app.run(), "open_json_popover")
    spec = ModelSpec(name="from_file", input_shape=[13], num_outputs=3, blocks=[BlockSpec(layers=2, width=32,
                                                                                        decrement=4)])
    at.get("file_uploader")[0].upload("design.json", spec.to_json().encode(), "application/json")
    at.run()
    assert _spec(at) == spec
    assert any("Design loaded" in s.value for s in at.success)
    at = open_popover(at, "open_json_popover")
    at.get("file_uploader")[0].set_value(("bad.json", b'{"blocks": "many"}', "application/json"))
    at.run()
    assert _spec(at) == spec
    assert any("not a usable design" in e.value for e in at.error)


def test_the_design_page_does_not_import_tensorflow() -> None:
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(APP)!r}, default_timeout=60).run()\n"
        "for section in ('Input', 'Base model', 'Around blocks', 'Optimizer'):\n"
        "    at.session_state['design_section'] = section\n"
        "    at.run()\n"
        "    assert not at.exception, at.exception\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_base_models_an_applications_model_and_a_refused_upload(app: AppTest) -> None:
    import io
    import json
    import zipfile

    from rmlp.base.info import applications

    at = open_section(app.run(), "Base model")
    names = sorted(applications())
    if names:
        at = widget(at, "button_group", "Source").set_value("applications").run()
        spec = _spec(at)
        assert spec.base_model is not None and spec.base_model.source == "applications"
        info = applications()[spec.base_model.name]
        assert any(f"{info.total_params:,} parameters" in c.value for c in at.caption)
        assert "Base model" in dot_of(at) or spec.base_model.name in dot_of(at)
    at = widget(at, "button_group", "Source").set_value("file").run()
    spec = _spec(at)
    assert spec.base_model is not None and spec.base_model.path.endswith("digits_cnn.keras")
    assert any("sample digits CNN" in c.value for c in at.caption)
    # an uploaded model with a Lambda layer is refused before Keras ever sees it
    config = {"class_name": "Functional", "module": "keras", "config": {"name": "m", "layers": [
        {"class_name": "Lambda", "module": "keras.layers", "config": {"name": "lam"}}]}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
    at.get("file_uploader")[0].set_value(("evil.keras", buffer.getvalue(), "application/octet-stream"))
    at = at.run()
    assert any("Lambda layer" in e.value for e in at.error), [e.value for e in at.error]
    assert _spec(at).base_model.path.endswith("digits_cnn.keras")


# ---------------------------------------------------------------------- presets and the data in use, papercuts
def _on_wine(app: AppTest) -> AppTest:
    from apptest_helpers import open_page

    at = widget(open_page(app, "data"), "button", "Use this data").click().run()
    return open_page(at, "design")


def test_a_preset_is_fitted_to_the_data_in_use_and_says_what_changed(app: AppTest) -> None:
    at = open_popover(_on_wine(app), "presets_popover")
    at = widget(at, "button", "Original README example").click().run()
    spec = _spec(at)
    assert spec.input_shape == [13] and spec.num_outputs == 3 and spec.task == "multiclass"
    notes = [i.value for i in at.main.info]
    assert any("fitted to wine.csv" in n and "Input shape set to [13]" in n for n in notes), notes
    assert not any("Does not match" in w.value for w in at.sidebar.warning)
    assert figure_value(at, "Parameters") == human_count(summarize(spec).total_params)


def test_a_preset_kept_as_is_says_it_does_not_match_the_data_and_what_train_changes(app: AppTest) -> None:
    at = open_popover(_on_wine(app), "presets_popover")
    at = widget(at, "toggle", "Fit to the data in use (wine.csv)").set_value(False).run()
    at = widget(at, "button", "Original README example").click().run()
    assert _spec(at).input_shape == [32, 32, 3] and _spec(at).num_outputs == 10
    side = [w.value for w in at.sidebar.warning]
    assert any("Does not match the data in use (wine.csv)" in w and "settings first" in w for w in side), side
    assert all(len(w) < 120 for w in side), side  # a line, not a paragraph: the changes are listed below it
    listed = "\n".join(m.value for m in at.sidebar.markdown)
    assert "Input shape set to [13]" in listed and "Output units set to 3" in listed
    assert any("does not match the data in use" in w.value for w in at.main.warning)
    at = widget(at, "button", "Fit the design to wine.csv").click().run()
    assert _spec(at).input_shape == [13] and _spec(at).num_outputs == 3
    assert not any("Does not match" in w.value for w in at.sidebar.warning)


def test_presets_show_a_title_and_a_description_from_the_preset_table(app: AppTest) -> None:
    from rmlp.spec.presets import PRESET_HELP, PRESET_TITLES, PRESETS

    at = open_popover(app.run(), "presets_popover")
    labels = {b.label for b in at.button}
    captions = {c.value for c in at.caption}
    for name in PRESETS:
        assert PRESET_TITLES[name] in labels and PRESET_HELP[name] in captions, name
    assert not {"original readme", "deep 14"} & labels  # no bare ids


def test_a_fix_says_what_changed_and_that_a_new_warning_follows_from_it(app: AppTest) -> None:
    at = _edit_blocks(app.run(), {"edited_rows": {0: {"decrement": 200}}})
    at = next(b for b in at.button if b.label.startswith("Apply fix")).click().run()
    assert _spec(at).blocks[0].decrement == 99
    assert any("Decrement (l) of block 1 set to 99 (was 200)" in s.value for s in at.success), \
        [s.value for s in at.success]
    follows = [w.value for w in at.warning if "follows from the fix" in w.value]
    assert follows and "narrows to 4 units" in follows[0], [w.value for w in at.warning]


def test_a_new_block_row_copies_the_last_block_and_the_bypass_column_comes_before_the_main_path(app: AppTest) -> None:
    import json

    at = open_popover(app.run(), "presets_popover")
    at = widget(at, "button", "Small table model").click().run()
    last = _spec(at).blocks[-1]
    assert last != BlockSpec()  # [2, 32, 8], not the library default [5, 400, 50]
    columns = json.loads(at.data_editor[0].proto.columns)
    assert [columns[n]["default"] for n in ("layers", "width", "decrement")] == [last.layers, last.width,
                                                                                   last.decrement]
    order = list(at.data_editor[0].proto.column_order)
    assert order.index("bypass") < order.index("main path")
    # the four editable columns fit a half-width column (about 450 px) without scrolling
    assert sum(columns[n]["width"] for n in ("layers", "width", "decrement", "bypass")) <= 330


def test_the_tab_labels_are_short_enough_for_the_tab_bar(app: AppTest) -> None:
    at = app.run()
    labels = [t.label for t in at.tabs]
    assert len(labels) == 5 and sum(len(label) for label in labels) <= 45, labels


def test_the_memory_figure_shows_what_the_design_adds_apart_from_the_fixed_overhead(app: AppTest) -> None:
    from rmlp.design.summary import FRAMEWORK_OVERHEAD_BYTES
    from rmlp.spec.units import human_bytes

    at = _edit_blocks(app.run(), {"edited_rows": {0: {"width": 40, "decrement": 4}}})
    small = summarize(_spec(at))
    shown = figure_value(at, "Training memory")
    assert shown == human_bytes(small.peak_training_bytes - FRAMEWORK_OVERHEAD_BYTES)
    at = _edit_blocks(at, {"edited_rows": {0: {"width": 80}}})
    assert figure_value(at, "Training memory") != shown  # it moves with the design
    assert any("fixed overhead" in c.value and human_bytes(FRAMEWORK_OVERHEAD_BYTES) in c.value for c in at.caption)
