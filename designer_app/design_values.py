"""What the Design page shows, worked out without Streamlit: the blocks table and back, labels, the figures.

* the blocks table as a data frame (:func:`blocks_frame`) and the blocks an edited table describes
  (:func:`blocks_from_frame`), with a message for each cell that could not be read;
* short labels: a field's column header, a keras.applications model, a problem of an opened file;
* the figures and their grid as HTML, the training-memory estimate in its parts, the idea in words.

The drawing is :mod:`designer_app.design_view`'s.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import pandas as pd

from designer_app import teaching
from rmlp import BlockSpec, field_meta
from rmlp.base.info import applications
from rmlp.design.memory import design_bytes
from rmlp.design.summary import FRAMEWORK_OVERHEAD_BYTES, Summary
from rmlp.spec.fields import format_int_list, parse_int_list
from rmlp.spec.units import human_bytes, human_count


# ---------------------------------------------------------------------- labels
def problem_words(problem: Any) -> str:
    """A problem of an opened file with its field's label ("Output units: …"), not its path."""
    try:
        name = field_meta(problem.path).label
    except (KeyError, ValueError):
        name = problem.path
    return f"{name}: {problem.message} {problem.fix}".strip()


def app_label(name: str) -> str:
    info = applications().get(name)
    if info is None:
        return name
    return f"{name} — {info.default_size[0]}×{info.default_size[1]}, {human_count(info.total_params)} params"


def short_label(label: str) -> str:
    """'Dense layers (j)' -> 'j', 'Bypass Dense widths' -> 'Bypass': a header that fits its narrow column whole.

    The full names are in each header's help and in the caption under the table.
    """
    if label.endswith(")") and " (" in label:
        return label[:-1].split(" (", 1)[1]
    return label.split(" ", 1)[0]


# ---------------------------------------------------------------------- the blocks table
def _main_path_text(block: BlockSpec) -> str:
    widths = block.main_widths()
    shown = widths if len(widths) <= 3 else [widths[0], "…", widths[-1]]  # short enough for a narrow column
    text = " → ".join(str(w) for w in shown)
    return text + ("  ✗" if widths and min(widths) < 1 else "")


def blocks_frame(blocks: list[BlockSpec]) -> pd.DataFrame:
    """One row per block: j, k, l, bypass widths (text), then the main path it gives (read only)."""
    return pd.DataFrame({
        "layers": [b.layers for b in blocks],
        "width": [b.width for b in blocks],
        "decrement": [b.decrement for b in blocks],
        "bypass": [format_int_list(b.bypass) for b in blocks],
        "main path": [_main_path_text(b) for b in blocks],
    })


def _cell_int(value: Any, default: int) -> int:
    try:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return default
        return int(value)
    except (TypeError, ValueError):
        return default


def blocks_from_frame(frame: pd.DataFrame, before: list[BlockSpec]) -> tuple[list[BlockSpec], list[str]]:
    """The blocks a (possibly edited) table describes, and messages for cells that could not be read."""
    blocks: list[BlockSpec] = []
    messages: list[str] = []
    for row_no, row in enumerate(frame.to_dict("records")):
        template = before[row_no] if row_no < len(before) else (before[-1] if before else BlockSpec())
        text = row.get("bypass")
        text = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
        try:
            bypass = parse_int_list(text)
        except ValueError as exc:
            messages.append(f"Block {row_no + 1}, bypass widths: {exc}")
            bypass = list(template.bypass)
        blocks.append(BlockSpec(
            layers=_cell_int(row.get("layers"), template.layers),
            width=_cell_int(row.get("width"), template.width),
            decrement=_cell_int(row.get("decrement"), template.decrement),
            bypass=bypass,
        ))
    return blocks, messages


# ---------------------------------------------------------------------- figures and words
def figure_cells(figures: Summary) -> tuple[tuple[str, str, str], ...]:
    """The six figures of the Design page: (label, value, help) each."""
    return (
        ("Parameters", human_count(figures.total_params),
         teaching.FIGURE_HELP["total"] + f" Exactly {figures.total_params:,}."),
        ("Trainable", human_count(figures.trainable_params),
         teaching.FIGURE_HELP["trainable"] + f" Exactly {figures.trainable_params:,}."),
        ("FLOPs / example", human_count(figures.flops), teaching.FIGURE_HELP["flops"]),
        ("Layers", f"{figures.layers:,}", teaching.FIGURE_HELP["layers"]),
        ("Depth", f"{figures.depth:,}", teaching.FIGURE_HELP["depth"]),
        ("Training memory", human_bytes(design_bytes(figures)),
         teaching.MEMORY_HELP + f" Shown: what the design itself needs at batch size {figures.batch_size}; "
         f"TensorFlow's fixed overhead comes on top (see below)."),
    )


def memory_breakdown(figures: Summary) -> str:
    """The training-memory estimate in its parts, the fixed framework overhead apart."""
    weights, state_bytes = figures.weights_bytes, figures.training_state_bytes
    activations = design_bytes(figures) - weights - state_bytes
    return (f"Training memory of the design at batch {figures.batch_size}: weights {human_bytes(weights)} + "
            f"gradients and optimizer state {human_bytes(state_bytes)} + activations {human_bytes(activations)} "
            f"= {human_bytes(design_bytes(figures))}. With TensorFlow's fixed overhead (about "
            f"{human_bytes(FRAMEWORK_OVERHEAD_BYTES)}, the same for every design) the peak is about "
            f"{human_bytes(figures.peak_training_bytes)}.")


def figures_html(cells: tuple[tuple[str, str, str], ...]) -> str:
    """A three-column grid of big numbers with their labels; the help shows on hover."""
    parts = []
    for label, value, tip in cells:
        parts.append(
            f'<div class="rmlp-figure" data-figure="{html.escape(label)}" title="{html.escape(tip)}">'
            f'<div style="font-size:0.875rem;opacity:0.75"><span style="border-bottom:1px dotted;cursor:help">'
            f'{html.escape(label)}</span></div>'
            f'<div style="font-size:2rem;line-height:1.25">{html.escape(value)}</div></div>'
        )
    return ('<div style="display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:0.5rem 1rem;'
            'margin-bottom:0.5rem">' + "".join(parts) + "</div>")


def idea_text(normalization: str) -> str:
    """The idea of a residual MLP in words, true of a design (batch normalisation only when it has it)."""
    text = teaching.RESIDUAL_MLP_IDEA
    if normalization != "batchnorm":
        text = re.sub(r",\s+each with batch normalisation;", " (this design has no batch normalisation there);",
                      text)
    return text
