"""The interactive designer for a notebook: the Design page's controls as ipywidgets.

Every control is generated from the setting's metadata (:func:`rmlp.field_meta`: label, help,
bounds, step, choices, when it applies) and grouped like the Design page
(:data:`rmlp.spec.sections.DESIGN_SECTIONS`). A change updates the design, and the graph, the
figures and the problems are redrawn at once (no TensorFlow); each control shows its own problems
right below it. ``designer.spec`` is the current design at any time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
from IPython.display import display

from rmlp.base.info import applications
from rmlp.data.samples import starting_base_model
from rmlp.design.summary import DEFAULT_BATCH_SIZE
from rmlp.design.validate import validate
from rmlp.notebook.views import problems_html, spec_html
from rmlp.spec.edit import field_meta
from rmlp.spec.fields import FieldMeta, format_int_list, parse_int_list
from rmlp.spec.model import ModelSpec, parse_spec
from rmlp.spec.paths import get_in, is_within, set_in
from rmlp.spec.problems import Problem, SpecError
from rmlp.spec.sections import BASE_MODEL_FIELDS, BLOCK_FIELDS, DESIGN_SECTIONS

__all__ = ["Designer", "control_for", "designer"]

#: A whole-number setting with at most this many allowed values gets a slider; wider ones a number box.
SLIDER_MAX_SPAN = 100
_BASE_SOURCES = {"none": "None", "applications": "keras.applications", "file": "A .keras file"}
_LABEL = {"description_width": "160px"}
_WIDE = widgets.Layout(width="360px")


# ---------------------------------------------------------------------- one control per setting
class _Control:
    """A widget for one setting, reading and writing the setting's value (None for an empty optional)."""

    def __init__(self, meta: FieldMeta, value: Any, options: list[Any] | None = None) -> None:
        self.meta = meta
        self.message = ""  # why the last text could not be read
        tip = meta.describe()
        kind, low, high = meta.kind, meta.low, meta.high
        common: dict[str, Any] = {"description": meta.label, "description_allow_html": False,
                                  "tooltip": tip, "style": _LABEL, "layout": _WIDE}
        self.widget: widgets.ValueWidget
        if kind == "bool":
            self.widget = widgets.Checkbox(value=bool(value), indent=False, **common)
        elif kind == "choice" or options is not None:
            choices = list(options if options is not None else meta.choices)
            if value not in choices:
                choices.append(value)
            self.widget = widgets.Dropdown(options=choices, value=value, **common)
        elif kind == "int" and low is not None and high is not None and high - low <= SLIDER_MAX_SPAN:
            self.widget = widgets.IntSlider(value=int(value), min=int(low), max=int(high), step=int(meta.step or 1),
                                            continuous_update=False, **common)
        elif kind == "float" and meta.log and low is not None and high is not None and low > 0 and not meta.optional:
            self.widget = widgets.FloatLogSlider(value=float(value), base=10, min=math.log10(low),
                                                 max=math.log10(high), step=0.05, readout_format=".1e",
                                                 continuous_update=False, **common)
        elif kind == "float" and meta.step and low is not None and high is not None and not meta.optional:
            top = high - meta.step if meta.high_open else high
            self.widget = widgets.FloatSlider(value=float(value), min=low, max=top, step=meta.step,
                                              readout_format=".2f", continuous_update=False, **common)
        elif kind == "int" and not meta.optional:
            self.widget = widgets.IntText(value=int(value), **common)
        elif kind == "float" and not meta.optional:
            self.widget = widgets.FloatText(value=float(value), **common)
        else:  # text, lists of numbers, optional numbers: a text box read on each change
            self.widget = widgets.Text(value=self.format(value), placeholder=meta.empty, continuous_update=False,
                                       **common)

    def format(self, value: Any) -> str:
        if value is None:
            return ""
        if self.meta.kind == "int_list":
            return format_int_list(value)
        return f"{value:g}" if isinstance(value, float) else str(value)

    def read(self) -> tuple[bool, Any]:
        """(True, value) when the widget's content is a value of this setting; (False, None) otherwise."""
        raw = self.widget.value
        if not isinstance(self.widget, widgets.Text) or self.meta.kind == "str":
            return True, raw
        text = str(raw).strip()
        self.message = ""
        if not text and (self.meta.optional or self.meta.kind == "int_list"):
            return True, None if self.meta.optional else []
        try:
            if self.meta.kind == "int_list":
                return True, parse_int_list(text)
            number = float(text)
            return True, int(number) if self.meta.kind == "int" and number.is_integer() else number
        except ValueError:
            wanted = "a list of whole numbers" if self.meta.kind == "int_list" else "a number"
            self.message = f"{self.meta.label}: {text!r} is not {wanted}."
            return False, None

    def show(self, value: Any) -> None:
        """Put ``value`` in the widget (when the design changed elsewhere)."""
        shown = self.format(value) if isinstance(self.widget, widgets.Text) and self.meta.kind != "str" else value
        if isinstance(self.widget, widgets.Dropdown) and shown not in self.widget.options:
            self.widget.options = [*self.widget.options, shown]
        if self.widget.value != shown:
            self.widget.value = shown


def control_for(path: str, value: Any, options: list[Any] | None = None) -> widgets.ValueWidget:
    """The widget a setting gets (its metadata decides: slider, number box, dropdown, checkbox, text)."""
    return _Control(field_meta(path), value, options).widget


# ---------------------------------------------------------------------- the designer
class Designer:
    """The Design page's controls in a notebook; ``spec`` is the current design, ``widget`` the whole view."""

    def __init__(self, spec: ModelSpec | dict[str, Any] | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                 on_change: Callable[[ModelSpec], None] | None = None) -> None:
        start = spec if isinstance(spec, ModelSpec) else parse_spec(spec) if spec is not None else ModelSpec()
        self._data: dict[str, Any] = start.to_dict()
        self._spec = start
        self.batch_size = batch_size
        self.on_change = on_change
        self._controls: dict[str, _Control] = {}
        self._notes: dict[str, widgets.HTML] = {}
        self._quiet = False
        self.view = widgets.HTML()
        self.problems: list[Problem] = []
        self._blocks_box = widgets.VBox()
        self._base_box = widgets.VBox()
        tabs = []
        for item in DESIGN_SECTIONS:
            if item.label == "Blocks":
                tabs.append(self._blocks_box)
            elif item.label == "Base model":
                tabs.append(self._base_box)
            else:
                columns = [widgets.VBox([self._field(path) for path in column]) for column in item.columns]
                tabs.append(widgets.HBox(columns))
        self.tabs = widgets.Tab(children=tabs, titles=[item.label for item in DESIGN_SECTIONS])
        self.widget = widgets.VBox([self.tabs, self.view])
        self._draw_blocks()
        self._draw_base()
        self._refresh()

    # ------------------------------------------------------------------ public
    @property
    def spec(self) -> ModelSpec:
        """The current design (possibly with problems: see :attr:`problems` or ``rmlp.validate``)."""
        return self._spec

    @spec.setter
    def spec(self, spec: ModelSpec | dict[str, Any]) -> None:
        new = spec if isinstance(spec, ModelSpec) else parse_spec(spec)
        self._data = new.to_dict()
        self._spec = new
        self._sync_all()

    def set(self, path: str, value: Any) -> None:
        """Change one setting by its field path (``blocks[0].width``, ``optimizer.learning_rate``)."""
        set_in(self._data, path, value)
        self._apply()
        self._sync_all()

    def _ipython_display_(self) -> None:
        display(self.widget)

    # ------------------------------------------------------------------ controls
    def _value(self, path: str) -> Any:
        try:
            return get_in(self._data, path)
        except (KeyError, IndexError, TypeError):
            return None

    def _field(self, path: str, options: list[Any] | None = None) -> widgets.VBox:
        control = _Control(field_meta(path), self._value(path), options)
        note = widgets.HTML()
        self._controls[path] = control
        self._notes[path] = note
        control.widget.observe(lambda change, p=path: self._changed(p), names="value")
        return widgets.VBox([control.widget, note])

    def _changed(self, path: str) -> None:
        if self._quiet:
            return
        control = self._controls[path]
        ok, value = control.read()
        if ok:
            set_in(self._data, path, value)
            self._apply()
        self._refresh()

    def _apply(self) -> None:
        try:
            self._spec = parse_spec(self._data)
        except SpecError as exc:  # a value of the wrong type: keep the last design, show why
            self.problems = list(exc.problems)
            return
        if self.on_change is not None:
            self.on_change(self._spec)

    def _sync_all(self) -> None:
        """Rebuild what depends on the design's shape and put every value back into its control."""
        self._draw_blocks()
        self._draw_base()
        self._quiet = True
        try:
            for path, control in self._controls.items():
                if not path.startswith(("blocks[", "base_model.")):
                    control.show(self._value(path))
        finally:
            self._quiet = False
        self._refresh()

    # ------------------------------------------------------------------ blocks and base model
    def _draw_blocks(self) -> None:
        for path in [p for p in self._controls if p.startswith("blocks[")]:
            del self._controls[path], self._notes[path]
        rows = []
        count = len(self._data["blocks"])
        for i in range(count):
            cells = [self._field(f"blocks[{i}].{name}") for name in BLOCK_FIELDS]
            controls, notes = [c.children[0] for c in cells], [c.children[1] for c in cells]
            for name, control in zip(BLOCK_FIELDS, controls, strict=True):
                control.tooltip = f"{control.description}: {control.tooltip}"
                control.description = name  # short column names; the full label and help are the tooltip
                # a fixed size that never shrinks: a narrow notebook wraps the row instead of cutting labels
                control.layout = widgets.Layout(width="230px" if name != "layers" else "270px", flex="0 0 auto")
                control.style = {"description_width": "78px"}
            copy = widgets.Button(description="Duplicate", tooltip=f"Add a copy of block {i + 1} after it",
                                  layout=widgets.Layout(width="90px", flex="0 0 auto"))
            drop = widgets.Button(description="Remove", disabled=count <= 1, tooltip=f"Remove block {i + 1}",
                                  layout=widgets.Layout(width="80px", flex="0 0 auto"))
            copy.on_click(lambda _b, i=i: self._edit_blocks("duplicate", i))
            drop.on_click(lambda _b, i=i: self._edit_blocks("remove", i))
            head = widgets.HTML(f"<b>Block {i + 1}</b>", layout=widgets.Layout(width="60px", flex="0 0 auto"))
            rows.append(widgets.HBox([head, *controls, copy, drop],
                                     layout=widgets.Layout(flex_flow="row wrap", align_items="center")))
            rows.append(widgets.VBox(notes))  # the block's problems, under its row
        add = widgets.Button(description="Add block", icon="plus", tooltip="Add a copy of the last block")
        add.on_click(lambda _b: self._edit_blocks("duplicate", len(self._data["blocks"]) - 1))
        self._blocks_note = widgets.HTML()
        self._blocks_box.children = [*rows, add, self._blocks_note]

    def _edit_blocks(self, action: str, index: int) -> None:
        blocks = self._data["blocks"]
        if action == "duplicate":
            blocks.insert(index + 1, dict(blocks[index], bypass=list(blocks[index]["bypass"])))
        elif action == "remove" and len(blocks) > 1:
            blocks.pop(index)
        self._apply()
        self._sync_all()

    def _draw_base(self) -> None:
        for path in [p for p in self._controls if p.startswith("base_model.")]:
            del self._controls[path], self._notes[path]
        bm = self._data.get("base_model")
        source = widgets.Dropdown(options=[(v, k) for k, v in _BASE_SOURCES.items()],
                                  value="none" if bm is None else bm["source"], description="Source",
                                  tooltip=field_meta("base_model").help, style=_LABEL, layout=_WIDE)
        source.observe(lambda change: self._set_base(change["new"]), names="value")
        parts: list[widgets.Widget] = [source]
        if bm is not None:
            names = sorted(applications()) or None
            for path in BASE_MODEL_FIELDS:
                if bm["source"] == "applications" and path == "base_model.path":
                    continue
                if bm["source"] == "file" and path == "base_model.name":
                    continue
                parts.append(self._field(path, names if path == "base_model.name" else None))
        self._base_box.children = parts

    def _set_base(self, source: str) -> None:
        self._data["base_model"] = starting_base_model(source)
        self._apply()
        self._sync_all()

    # ------------------------------------------------------------------ drawing
    def _refresh(self) -> None:
        """Redraw the card and each control's problems; grey out settings that have no effect."""
        typed = [c.message for c in self._controls.values() if c.message]
        try:
            self.problems = list(validate(self._data))
        except SpecError as exc:
            self.problems = list(exc.problems)
        claimed: set[int] = set()
        for path, note in self._notes.items():
            mine = [(i, p) for i, p in enumerate(self.problems) if i not in claimed and is_within(p.path, path)]
            claimed.update(i for i, _ in mine)
            text = [c for c in typed if c.startswith(self._controls[path].meta.label + ":")]
            note.value = (problems_html([p for _, p in mine], style=False) if mine else "") + "".join(
                f'<div style="color:#c62828">{t}</div>' for t in text)
            self._controls[path].widget.disabled = not self._controls[path].meta.applies(self._data)
        blocks_own = [p for i, p in enumerate(self.problems) if i not in claimed and is_within(p.path, "blocks")]
        self._blocks_note.value = problems_html(blocks_own, style=False) if blocks_own else ""
        self.view.value = spec_html(self._spec, self.batch_size)


def designer(spec: ModelSpec | dict[str, Any] | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
             on_change: Callable[[ModelSpec], None] | None = None) -> Designer:
    """An interactive designer for ``spec`` (the default design when None); show it as a cell's result.

    ``designer(spec).spec`` is the current design at any time; ``on_change`` is called with each new one.
    """
    return Designer(spec, batch_size, on_change)
