"""The Learn page: one residual block you can change, drawn and counted layer by layer."""

from __future__ import annotations

import streamlit as st

from designer_app.widgets import help_text
from rmlp import BlockSpec, ModelSpec, field_meta, summarize
from rmlp.design.plan import make_plan

INTRO = """
A plain MLP passes its input through a stack of Dense layers, one after the other. A **residual
MLP** groups Dense layers into **blocks** and gives every block a second way through: a **bypass**
that carries the block's entry output around the stack and joins it again at the end. Change the
block below and watch the drawing and the count follow.
"""

WHY = """
**Why the bypass helps.** In a deep stack, the signal (and, during training, its gradient) has to
pass every layer; each can blur it a little. The bypass hands the block's entry output straight to
the merge, so later blocks always see it, and the gradient has a short way back. The main path is
then free to learn the *extra* features on top. This design concatenates the two ends, so the block
keeps both: the width after the merge is the last main-path width plus the bypass width.

**Rules of thumb.** Every main-path width must stay at least 1: `k − (j−1)·l ≥ 1`. A bottleneck
narrower than the number of classes loses information. Batch normalisation after each Dense layer
keeps training stable; dropout on the bypass keeps the network from leaning on the shortcut alone.
"""


def _slider(path: str, label: str, lo: int, hi: int, value: int) -> int:
    meta = field_meta(path)
    return int(st.slider(label, min_value=lo, max_value=hi, value=value, step=1, key=f"learn:{path}",
                         help=help_text(meta)))


def block_controls() -> tuple[BlockSpec, int]:
    """j, k, l and the bypass of one example block (this page never changes your design)."""
    cols = st.columns(5)
    with cols[0]:
        features = int(st.number_input("Input features", min_value=1, max_value=512, value=16, key="learn:in",
                                       help="How many numbers one example has (a table's columns)."))
    with cols[1]:
        layers = _slider("blocks[].layers", "Dense layers j", 1, 8, 3)
    with cols[2]:
        width = _slider("blocks[].width", "First width k", 1, 256, 32)
    with cols[3]:
        decrement = _slider("blocks[].decrement", "Decrement l", 0, 64, 8)
    with cols[4]:
        bypass = _slider("blocks[].bypass", "Bypass Dense width (0: none)", 0, 64, 0)
    return BlockSpec(layers=layers, width=width, decrement=decrement, bypass=[bypass] if bypass else []), features


def _example(block: BlockSpec, features: int) -> ModelSpec:
    return ModelSpec(name="one_block", task="multiclass", num_outputs=3, input_shape=[features], blocks=[block],
                     final_layers=[])


def block_graph(block: BlockSpec, features: int) -> None:
    from rmlp.design.graph import to_dot

    last = block.width - (block.layers - 1) * block.decrement
    if last < 1:
        st.error(f"The last main-path layer would have {block.width} − ({block.layers}−1)·{block.decrement} = "
                 f"{last} units: a block must keep every width at least 1. Lower l or j, or raise k.",
                 icon=":material/error:")
        return
    st.graphviz_chart(to_dot(_example(block, features), compact=False), width="content")


def parameter_walkthrough(block: BlockSpec, features: int) -> None:
    """Where the parameters of the block come from, layer by layer."""
    last = block.width - (block.layers - 1) * block.decrement
    if last < 1:
        return
    spec = _example(block, features)
    st.markdown("**Counting the weights**")
    rows = []
    for node in make_plan(spec):
        if node.block != 0 or not node.params:
            continue
        fan_in = node.params // node.units - 1 if node.op == "dense" and node.units else None
        how = f"({fan_in} inputs + 1 bias) × {node.units}" if fan_in is not None else "4 per unit (2 trained)"
        rows.append(f"| {node.name.replace('block1_', '')} | {how} | {node.params:,} |")
    merged = last + (block.bypass[-1] if block.bypass else block.width)
    st.markdown("| layer | weights | count |\n|---|---|---:|\n" + "\n".join(rows))
    total = summarize(spec).total_params
    st.caption(f"After the merge each example has {last} + {block.bypass[-1] if block.bypass else block.width} = "
               f"{merged} numbers. The whole example model (with a 3-class output layer) has {total:,} parameters.")


def why_bypass() -> None:
    st.markdown(WHY)
