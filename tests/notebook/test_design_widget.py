"""The notebook designer: controls from the metadata table; every change updates the spec and the card."""

from __future__ import annotations

import re
import sys

import ipywidgets as widgets

from rmlp.design.summary import summarize
from rmlp.notebook import designer
from rmlp.spec.edit import field_meta
from rmlp.spec.model import ModelSpec
from rmlp.spec.sections import DESIGN_SECTIONS


def params_shown(html: str) -> int:
    match = re.search(r"<td>Parameters</td><td class=\"num\">([\d,]+) ", html)
    assert match, "the card shows the parameter count"
    return int(match.group(1).replace(",", ""))


def test_tabs_and_controls_come_from_the_sections_and_metadata() -> None:
    d = designer()
    assert list(d.tabs.titles) == [s.label for s in DESIGN_SECTIONS]
    for item in DESIGN_SECTIONS:
        for path in item.paths:
            control = d._controls[path].widget
            assert control.description == field_meta(path).label
            assert field_meta(path).help.split(".")[0] in control.tooltip
    assert isinstance(d._controls["task"].widget, widgets.Dropdown)
    assert list(d._controls["task"].widget.options) == list(field_meta("task").choices)
    assert isinstance(d._controls["blocks[0].layers"].widget, widgets.IntSlider)
    assert d._controls["blocks[0].width"].widget.description == "width"  # the blocks table's column name
    assert field_meta("blocks[].width").label in d._controls["blocks[0].width"].widget.tooltip
    assert d._controls["blocks[0].layers"].widget.max == field_meta("blocks[].layers").high
    assert isinstance(d._controls["bypass_dropout"].widget, widgets.FloatSlider)
    assert isinstance(d._controls["flatten"].widget, widgets.Checkbox)


def test_changing_a_control_changes_the_spec_and_the_rendered_summary() -> None:
    d = designer(ModelSpec())
    before = params_shown(d.view.value)
    assert before == summarize(ModelSpec()).total_params
    d._controls["blocks[0].width"].widget.value = 64
    assert d.spec.blocks[0].width == 64
    after = params_shown(d.view.value)
    assert after == summarize(d.spec).total_params and after < before
    d._controls["final_layers"].widget.value = "16"
    assert d.spec.final_layers == [16]
    assert params_shown(d.view.value) == summarize(d.spec).total_params


def test_problems_appear_below_their_control_and_go_when_fixed() -> None:
    d = designer()
    d._controls["blocks[0].width"].widget.value = 0
    note = d._notes["blocks[0].width"].value
    assert "blocks[0].width" in note and "Set it to 1." in note
    assert "1 error" in d.view.value
    d._controls["blocks[0].width"].widget.value = 32  # now too narrow for 5 layers shrinking by 50
    assert d._notes["blocks[0].width"].value == ""
    assert "decrement" in d._notes["blocks[0].decrement"].value
    d._controls["blocks[0].decrement"].widget.value = 4
    assert d._notes["blocks[0].decrement"].value == "" and ">valid<" in d.view.value


def test_text_that_is_not_a_list_keeps_the_design_and_says_why() -> None:
    d = designer()
    d._controls["final_layers"].widget.value = "64, x"
    assert d.spec.final_layers == ModelSpec().final_layers
    assert "is not a list of whole numbers" in d._notes["final_layers"].value


def test_settings_without_effect_are_greyed_out() -> None:
    d = designer()
    d._controls["bypass_regularizer"].widget.value = "batchnorm"
    assert d._controls["bypass_dropout"].widget.disabled
    d._controls["bypass_regularizer"].widget.value = "dropout"
    assert not d._controls["bypass_dropout"].widget.disabled


def test_block_buttons_and_set_keep_controls_in_step() -> None:
    d = designer()
    duplicate = d._blocks_box.children[0].children[-2]
    duplicate.click()
    assert len(d.spec.blocks) == 2 and "blocks[1].width" in d._controls
    d.set("blocks[1].width", 48)
    assert d._controls["blocks[1].width"].widget.value == 48 and d.spec.blocks[1].width == 48
    remove = d._blocks_box.children[0].children[-1]
    remove.click()
    assert len(d.spec.blocks) == 1 and "blocks[1].width" not in d._controls and d.spec.blocks[0].width == 48


def test_base_model_source_switch_and_spec_setter() -> None:
    d = designer()
    source = d._base_box.children[0]
    source.value = "applications"
    assert d.spec.base_model is not None and d.spec.base_model.source == "applications"
    assert "base_model.pooling" in d._controls
    d.spec = ModelSpec(name="from_code")
    assert d._controls["name"].widget.value == "from_code" and d.spec.base_model is None
    assert "base_model.pooling" not in d._controls


def test_on_change_gets_each_new_spec() -> None:
    seen: list[ModelSpec] = []
    d = designer(on_change=seen.append)
    d._controls["activation"].widget.value = "gelu"
    assert seen and seen[-1].activation == "gelu"


def test_the_designer_never_imports_tensorflow() -> None:
    import subprocess

    code = ("import sys\nfrom rmlp.notebook import designer\nd = designer()\n"
            "d._controls['blocks[0].width'].widget.value = 80\nd.set('final_layers', [16])\n"
            "print([m for m in ('tensorflow', 'keras') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_a_block_row_wraps_in_a_narrow_notebook_instead_of_cutting_its_labels() -> None:
    d = designer(ModelSpec())
    row = d._blocks_box.children[0]
    assert "wrap" in row.layout.flex_flow
    for child in row.children:
        assert child.layout.flex == "0 0 auto"  # never squashed to "D", "R" or "decrem…"
        width = getattr(child, "style", None) and child.style.get_state().get("description_width")
        if width:
            assert int(width.rstrip("px")) >= 8 * len(child.description)  # the short name fits whole
