"""The layer plan: every layer a spec turns into, with shapes and parameter counts, without Keras.

The plan is the single description of the architecture: :mod:`rmlp.design.summary` counts it,
:mod:`rmlp.keras.build` turns each node into a built-in Keras layer, :mod:`rmlp.export` writes it out
as code. The order of the nodes is the order in which the layers are created.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rmlp.base.info import BaseInfo, lookup
from rmlp.spec.model import ModelSpec


@dataclass
class Node:
    """One layer of the model."""

    name: str
    op: str  # input, reshape, gray_to_rgb, resize, preprocess, base, flatten, dense, batchnorm, dropout, concat
    inputs: list[str]
    shape: tuple[int, ...]  # output shape of one example
    path: str = ""  # the spec field this layer comes from
    role: str = "head"  # input, base, entry, main, bypass, merge, inter, final, output
    block: int | None = None
    units: int | None = None
    activation: str | None = None
    rate: float | None = None
    initializer: str | None = None
    params: int = 0
    trainable_params: int = 0
    flops: int = 0  # per example
    extra: dict = field(default_factory=dict)

    @property
    def elements(self) -> int:
        return math.prod(self.shape)


class PlanError(ValueError):
    """The plan cannot be made (the spec has errors, or a base model is not known yet)."""


def base_size(spec: ModelSpec, info: BaseInfo | None) -> tuple[int, int]:
    """The (height, width) images are resized to before the base model."""
    bm = spec.base_model
    if bm is not None and bm.input_size:
        return int(bm.input_size[0]), int(bm.input_size[1])
    if info is not None:
        return int(info.default_size[0]), int(info.default_size[1])
    return tuple(spec.input_shape[:2])  # type: ignore[return-value]


def make_plan(spec: ModelSpec, info: BaseInfo | None = None) -> list[Node]:
    """All layers of the model for ``spec``, in creation order."""
    if spec.base_model is not None and info is None:
        info = lookup(spec.base_model)
        if info is None:
            raise PlanError("The base model is not known yet; inspect it first.")
    nodes: list[Node] = []

    def add(node: Node) -> Node:
        nodes.append(node)
        return node

    def dense(name: str, src: Node, units: int, *, path: str, role: str, block: int | None = None,
              activation: str | None = None, initializer: str | None = None) -> Node:
        fan_in = src.shape[-1]
        lead = math.prod(src.shape[:-1])
        params = (fan_in + 1) * units
        return add(Node(name, "dense", [src.name], (*src.shape[:-1], units), path, role, block,
                        units=units, activation=activation or spec.activation,
                        initializer=initializer, params=params, trainable_params=params,
                        flops=2 * fan_in * units * lead))

    def regulariser(name: str, src: Node, kind: str, rate: float, *, path: str, role: str,
                    block: int | None = None) -> Node:
        if kind == "batchnorm":
            c = src.shape[-1]
            return add(Node(name, "batchnorm", [src.name], src.shape, path, role, block,
                            params=4 * c, trainable_params=2 * c, flops=2 * src.elements))
        return add(Node(name, "dropout", [src.name], src.shape, path, role, block, rate=rate))

    x = add(Node("input", "input", [], tuple(spec.input_shape), "input_shape", "input"))
    if spec.grayscale_to_rgb:
        if len(x.shape) == 2:
            x = add(Node("add_channel", "reshape", [x.name], (*x.shape, 1), "grayscale_to_rgb", "input"))
        x = add(Node("grayscale_to_rgb", "gray_to_rgb", [x.name], (*x.shape[:-1], 3), "grayscale_to_rgb",
                     "input"))
    if spec.base_model is not None:
        assert info is not None
        bm = spec.base_model
        h, w = base_size(spec, info)
        x = add(Node("resize_for_base", "resize", [x.name], (h, w, x.shape[-1]), "base_model.input_size",
                     "base", extra={"height": h, "width": w}))
        if bm.preprocess and info.preprocess != "none":
            from rmlp.base.preprocess import preprocess_param_count

            p = preprocess_param_count(info.preprocess)
            x = add(Node("base_preprocess", "preprocess", [x.name], x.shape, "base_model.preprocess", "base",
                         params=p, extra={"family": info.preprocess}))
        out_shape = info.output_shape(h, w, bm.pooling)
        x = add(Node("base_model", "base", [x.name], tuple(out_shape), "base_model.name", "base",
                     params=info.total_params,
                     trainable_params=info.trainable_params(bm.trainable_layers, bm.pooling),
                     flops=int(info.flops_per_pixel * h * w),
                     extra={"activations": int(info.activations_per_pixel * h * w)}))
    if spec.flatten:
        x = add(Node("flatten", "flatten", [x.name], (math.prod(x.shape),), "flatten", "input"))

    for i, block in enumerate(spec.blocks):
        b = i + 1
        p = f"blocks[{i}]"
        entry = dense(f"block{b}_entry", x, block.width, path=f"{p}.width", role="entry", block=i,
                      initializer="glorot_normal")
        m = regulariser(f"block{b}_main_bn0", entry, "batchnorm", 0.0, path=p, role="main", block=i)
        for j, units in enumerate(block.main_widths()):
            m = dense(f"block{b}_main_dense{j + 1}", m, units, path=f"{p}.decrement" if j else f"{p}.width",
                      role="main", block=i)
            m = regulariser(f"block{b}_main_bn{j + 1}", m, "batchnorm", 0.0, path=p, role="main", block=i)
        y = regulariser(f"block{b}_bypass_reg0", entry, spec.bypass_regularizer, spec.bypass_dropout,
                        path="bypass_regularizer", role="bypass", block=i)
        for j, units in enumerate(block.bypass):
            y = dense(f"block{b}_bypass_dense{j + 1}", y, units, path=f"{p}.bypass[{j}]", role="bypass",
                      block=i)
            y = regulariser(f"block{b}_bypass_reg{j + 1}", y, spec.bypass_regularizer, spec.bypass_dropout,
                            path="bypass_regularizer", role="bypass", block=i)
        x = add(Node(f"block{b}_merge", "concat", [m.name, y.name], (*m.shape[:-1], m.shape[-1] + y.shape[-1]),
                     p, "merge", i))
        if i < len(spec.blocks) - 1:
            for j, units in enumerate(spec.inter_block_layers):
                x = dense(f"gap{b}_dense{j + 1}", x, units, path=f"inter_block_layers[{j}]", role="inter")
                x = regulariser(f"gap{b}_bn{j + 1}", x, "batchnorm", 0.0, path="inter_block_layers",
                                role="inter")
    for j, units in enumerate(spec.final_layers):
        x = dense(f"final_dense{j + 1}", x, units, path=f"final_layers[{j}]", role="final")
        x = regulariser(f"final_reg{j + 1}", x, spec.final_regularizer, spec.final_dropout,
                        path="final_regularizer", role="final")
    dense("output", x, spec.num_outputs, path="num_outputs", role="output",
          activation=spec.resolved_output_activation())
    return nodes


def depth(nodes: list[Node]) -> int:
    """Weight layers (Dense, and the base model as one) on the longest input-to-output path."""
    longest: dict[str, int] = {}
    for node in nodes:
        before = max((longest[n] for n in node.inputs), default=0)
        longest[node.name] = before + (1 if node.op in ("dense", "base") else 0)
    return longest[nodes[-1].name]
