"""The layer plan: every layer a spec turns into, with shapes and parameter counts, without Keras.

The plan is the single description of the architecture: :mod:`rmlp.design.summary` counts it,
:mod:`rmlp.keras.build` turns each node into a built-in Keras layer, :mod:`rmlp.export` writes it out
as code, :mod:`rmlp.design.graph` draws it. The order of the nodes is the order in which the layers
are created.

``make_plan(spec, strict=False)`` also plans what cannot be built yet, as a drawing must still show
it: Dense widths below 1 (their parameters count as 0), and a base model whose facts are not known
(a ``.keras`` file not inspected yet). A shape that is not known is the empty tuple ``()`` (no layer
of a valid design has a scalar output): the base model's, and what follows it up to the first Dense
layer, which gives ``(units,)`` as the blocks need rank-1 features. Parameters and FLOPs that depend
on an unknown shape count as 0. In a strict plan (the default) every shape is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from rmlp.base.info import BaseInfo, lookup
from rmlp.spec.model import BlockSpec, ModelSpec

#: What a node does: input, reshape, gray_to_rgb, resize, preprocess, base, flatten, dense, batchnorm, dropout,
#: concat, rescale, stack (members side by side on a new axis), average (their mean over that axis);
#: packed ensembles: repeat (the features once per member), packed_dense (all members' Dense layers as one
#: EinsumDense), member_scale (a shared-weight ensemble's scale of each feature per member); the periodic
#: embedding: periodic (features times learned frequencies), sin, cos, feature_dense (a linear layer per
#: feature); the piecewise-linear embedding: bins (each feature's position in each of its bins, fixed weights set
#: from the training rows), unit_clip (clipped to [0, 1]), feature_dense; feature_scale (a learned factor per
#: value in front of the blocks). Each has its row in
#: :mod:`rmlp.keras.layer_defs`, which the builder and the exporter read; a name missing there is a type error.
Op = Literal["input", "reshape", "gray_to_rgb", "resize", "preprocess", "base", "flatten", "dense", "batchnorm",
             "dropout", "concat", "rescale", "stack", "average", "repeat", "packed_dense", "member_scale",
             "periodic", "sin", "cos", "feature_dense", "bins", "unit_clip", "feature_scale"]

#: The shape of one example; ``()`` when not known (only with ``strict=False``).
UNKNOWN: tuple[int, ...] = ()


@dataclass
class Node:
    """One layer of the model."""

    name: str
    op: Op  # see :data:`Op`
    inputs: list[str]
    shape: tuple[int, ...]  # output shape of one example; UNKNOWN (``()``) when not known, see above
    path: str = ""  # the spec field this layer comes from (the drawing's node id)
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
    def known(self) -> bool:
        """Whether the output shape is known (always so in a strict plan)."""
        return self.shape != UNKNOWN

    @property
    def elements(self) -> int:
        """Values in one example's output; 0 when the shape is not known."""
        return math.prod(self.shape) if self.known else 0

    @property
    def features(self) -> int | None:
        """Size of the last axis (the width a Concatenate adds up), None when not known."""
        return self.shape[-1] if self.known else None

    @property
    def valid(self) -> bool:
        """False for a Dense layer with fewer than 1 unit, which cannot be built."""
        return self.op not in DENSE_OPS or (self.units is not None and self.units >= 1)


#: Ops that are Dense layers (one network's, or all packed members' at once).
DENSE_OPS: frozenset[Op] = frozenset({"dense", "packed_dense"})
#: Ops that are ``keras.ops`` functions rather than layers (a Keras model does not list them as layers).
FUNCTION_OPS: frozenset[Op] = frozenset({"sin", "cos"})


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


def _loose_size(spec: ModelSpec, info: BaseInfo | None) -> tuple[int | None, int | None]:
    """:func:`base_size` that gives (None, None) instead of guessing or failing."""
    bm = spec.base_model
    if bm is not None and bm.input_size:
        return (int(bm.input_size[0]), int(bm.input_size[1])) if len(bm.input_size) == 2 else (None, None)
    return base_size(spec, info) if info is not None else (None, None)


def _base_info(spec: ModelSpec, info: BaseInfo | None, strict: bool) -> BaseInfo | None:
    """The base model's facts; strict: raises PlanError when they are not known."""
    if spec.base_model is None or info is not None:
        return info
    if not strict:
        try:
            return lookup(spec.base_model)
        except (OSError, ValueError):
            return None
    found = lookup(spec.base_model)
    if found is None:
        raise PlanError("The base model is not known yet; inspect it first.")
    return found


#: Names of the ensemble's last nodes: the members' outputs side by side, and their average.
MEMBERS, AVERAGE = "members", "ensemble_average"


class _Planner:
    """Collects the nodes of one plan (with ``prefix`` before the names of one ensemble member's layers)."""

    def __init__(self, spec: ModelSpec, strict: bool) -> None:
        self.spec = spec
        self.strict = strict
        self.nodes: list[Node] = []
        self.prefix = ""
        self.member: int | None = None
        #: Members computed side by side in every layer from here on (a packed ensemble); 1 otherwise.
        self.packed = 1

    @property
    def shared(self) -> bool:
        """Whether the members computed side by side share each Dense layer's weights (the 'shared' layout)."""
        return self.packed > 1 and self.spec.ensemble_layout == "shared"

    def add(self, node: Node) -> Node:
        if self.prefix:  # inputs already carry their final names: they come from nodes added before
            node.name = self.prefix + node.name
            node.extra = {**node.extra, "member": self.member}
        self.nodes.append(node)
        return node

    def start_member(self, k: int) -> None:
        """Name the layers that follow as member ``k`` (from 0) of an ensemble."""
        self.prefix, self.member = f"m{k + 1}_", k

    def dense(self, name: str, src: Node, units: int, *, path: str, role: str, block: int | None = None,
              activation: str | None = None, initializer: str | None = None) -> Node:
        params = flops = 0
        if src.shape:
            fan_in, width, lead = src.shape[-1], units, math.prod(src.shape[:-1])
            if not self.strict:  # an invalid width counts as nothing
                fan_in, width, lead = max(fan_in, 0), max(width, 0), max(lead, 0)
            # A packed layer holds every member's kernel and bias; a shared one, one Dense layer's for all.
            params = (fan_in + 1) * width * (1 if self.shared else self.packed)
            flops = 2 * fan_in * width * lead
        op: Op = "packed_dense" if self.packed > 1 and not self.shared else "dense"
        extra = {"members": self.packed} if op == "packed_dense" else {}
        shape = (*src.shape[:-1], units) if src.shape or self.packed == 1 else (self.packed, units)
        return self.add(Node(name, op, [src.name], shape, path, role, block, units=units,
                             activation=activation or self.spec.activation, initializer=initializer,
                             params=params, trainable_params=params, flops=flops, extra=extra))

    def norm(self, name: str, src: Node, *, path: str, role: str, block: int | None = None) -> Node:
        """The spec's main-path normalisation after ``src`` (``src`` itself when it is 'none')."""
        if self.spec.normalization == "none":
            return src
        return self.regulariser(name, src, "batchnorm", 0.0, path=path, role=role, block=block)

    def regulariser(self, name: str, src: Node, kind: str, rate: float, *, path: str, role: str,
                    block: int | None = None) -> Node:
        if kind == "batchnorm":
            if self.packed > 1 and len(src.shape) > 1:  # statistics and scales per member: members × units
                flat = self.add(Node(f"{name}_flat", "reshape", [src.name], (math.prod(src.shape),), path, role, block))
                bn = self.regulariser(name, flat, kind, rate, path=path, role=role, block=block)
                return self.add(Node(f"{name}_members", "reshape", [bn.name], src.shape, path, role, block))
            c, elements = (src.shape[-1], math.prod(src.shape)) if src.shape else (0, 0)
            if not self.strict:
                c, elements = max(c, 0), max(elements, 0)
            return self.add(Node(name, "batchnorm", [src.name], src.shape, path, role, block,
                                 params=4 * c, trainable_params=2 * c, flops=2 * elements))
        return self.add(Node(name, "dropout", [src.name], src.shape, path, role, block, rate=rate))


def _front(p: _Planner, info: BaseInfo | None) -> Node:
    """Input, grayscale conversion, base model and flatten; returns the last node."""
    spec = p.spec
    x = p.add(Node("input", "input", [], tuple(spec.input_shape), "input_shape", "input"))
    if spec.grayscale_to_rgb:
        if len(x.shape) == 2:
            x = p.add(Node("add_channel", "reshape", [x.name], (*x.shape, 1), "grayscale_to_rgb", "input"))
        x = p.add(Node("grayscale_to_rgb", "gray_to_rgb", [x.name], (*x.shape[:-1], 3), "grayscale_to_rgb",
                       "input"))
    if spec.base_model is not None:
        x = _base(p, x, info)
    if spec.flatten:
        shape = (math.prod(x.shape),) if x.known else UNKNOWN
        x = p.add(Node("flatten", "flatten", [x.name], shape, "flatten", "input"))
        if spec.embedding == "periodic":
            x = _periodic_embedding(p, x)
        elif spec.embedding == "piecewise":
            x = _piecewise_embedding(p, x)
        if spec.feature_scale:
            n = x.shape[0] if x.known else 0
            x = p.add(Node("feature_scale", "feature_scale", [x.name], x.shape, "feature_scale", "input",
                           params=n, trainable_params=n, flops=n))
    return x


def _periodic_embedding(p: _Planner, x: Node) -> Node:
    """PLR: each feature times n learned frequencies, their sine and cosine, a linear layer of its own
    with ReLU, flattened to features × width values. Unknown features: the nodes without shapes."""
    spec, n = p.spec, p.spec.embedding_frequencies
    f = x.shape[0] if x.known else 0
    known = x.known and f > 0
    extra = {"embed": True, "scale": spec.embedding_scale}

    def shape(*dims: int) -> tuple[int, ...]:
        return dims if known else UNKNOWN

    freq = p.add(Node("embed_frequencies", "periodic", [x.name], shape(f, n), "embedding", "input",
                      params=f * n, trainable_params=f * n, flops=f * n, extra=extra))
    sin = p.add(Node("embed_sin", "sin", [freq.name], freq.shape, "embedding", "input", extra=extra))
    cos = p.add(Node("embed_cos", "cos", [freq.name], freq.shape, "embedding", "input", extra=extra))
    both = p.add(Node("embed_periodic", "concat", [sin.name, cos.name], shape(f, 2 * n), "embedding", "input",
                      extra=extra))
    return _embedding_tail(p, both, f, 2 * n, known, extra)


def _piecewise_embedding(p: _Planner, x: Node) -> Node:
    """PLE: each feature's position in each of its n bins (fixed weights: 1/width and -low/width per feature and
    bin, set from the training rows), clipped to [0, 1], then a linear layer of its own with ReLU, flattened."""
    n = p.spec.embedding_bins
    f = x.shape[0] if x.known else 0
    known = x.known and f > 0
    extra = {"embed": True}
    bins = p.add(Node("embed_bins", "bins", [x.name], (f, n) if known else UNKNOWN, "embedding", "input",
                      params=2 * f * n, trainable_params=0, flops=2 * f * n, extra=extra))
    clip = p.add(Node("embed_clip", "unit_clip", [bins.name], bins.shape, "embedding", "input", extra=extra))
    return _embedding_tail(p, clip, f, n, known, extra)


def _embedding_tail(p: _Planner, src: Node, f: int, n: int, known: bool, extra: dict) -> Node:
    """An embedding's end: a linear layer of each feature's own over its ``n`` values with ReLU, flattened."""
    d = p.spec.embedding_dim
    params = f * (n + 1) * d
    lin = p.add(Node("embed_linear", "feature_dense", [src.name], (f, d) if known else UNKNOWN, "embedding",
                     "input", units=d, activation="relu", params=params, trainable_params=params, flops=2 * f * n * d,
                     extra=extra))
    return p.add(Node("embed_flatten", "flatten", [lin.name], (f * d,) if known else UNKNOWN, "embedding", "input",
                      extra=extra))


def _base(p: _Planner, x: Node, info: BaseInfo | None) -> Node:
    """Resizing, the family's preprocessing and the base model itself; returns the base model node."""
    bm = p.spec.base_model
    assert bm is not None
    h, w = base_size(p.spec, info) if p.strict else _loose_size(p.spec, info)
    shape = (h, w, x.shape[-1]) if h is not None and w is not None and x.known else UNKNOWN
    x = p.add(Node("resize_for_base", "resize", [x.name], shape, "base_model.input_size", "base",
                   extra={"height": h, "width": w}))
    family = info.preprocess if info is not None else None
    if bm.preprocess and family != "none":
        from rmlp.base.preprocess import preprocess_param_count

        params = preprocess_param_count(family) if family else 0
        x = p.add(Node("base_preprocess", "preprocess", [x.name], x.shape, "base_model.preprocess", "base",
                       params=params, extra={"family": family}))
    path = "base_model.name" if bm.source == "applications" else "base_model.path"
    if info is None:
        return p.add(Node("base_model", "base", [x.name], UNKNOWN, path, "base", extra={"activations": 0}))
    out, flops, activations = UNKNOWN, 0, 0
    if h is not None and w is not None:
        out = tuple(info.output_shape(h, w, bm.pooling))
        flops, activations = int(info.flops_per_pixel * h * w), int(info.activations_per_pixel * h * w)
    return p.add(Node("base_model", "base", [x.name], out, path, "base", params=info.total_params,
                      trainable_params=info.trainable_params(bm.trainable_layers, bm.pooling),
                      flops=flops, extra={"activations": activations}))


def _block(p: _Planner, i: int, block: BlockSpec, x: Node) -> Node:
    """Block ``i``: entry, main path, bypass and their Concatenate; returns the merge node.

    With ``spec.residual`` off: entry and main path only; returns the main path's last node.
    """
    spec = p.spec
    b, path = i + 1, f"blocks[{i}]"
    entry = p.dense(f"block{b}_entry", x, block.width, path=f"{path}.width", role="entry", block=i,
                    initializer="glorot_normal")
    m = p.norm(f"block{b}_main_bn0", entry, path=f"{path}.layers", role="main", block=i)
    for j, units in enumerate(block.main_widths()):
        m = p.dense(f"block{b}_main_dense{j + 1}", m, units, path=f"{path}.decrement" if j else f"{path}.width",
                    role="main", block=i)
        m = p.norm(f"block{b}_main_bn{j + 1}", m, path=f"{path}.layers", role="main", block=i)
    if not spec.residual:  # the plain twin: no bypass, no merge; the block ends at its main path
        return m
    kind, rate = spec.bypass_regularizer, spec.bypass_dropout
    reg_path = "bypass_dropout" if kind == "dropout" else "bypass_regularizer"
    y = p.regulariser(f"block{b}_bypass_reg0", entry, kind, rate, path=reg_path, role="bypass", block=i)
    for j, units in enumerate(block.bypass):
        y = p.dense(f"block{b}_bypass_dense{j + 1}", y, units, path=f"{path}.bypass[{j}]", role="bypass", block=i)
        y = p.regulariser(f"block{b}_bypass_reg{j + 1}", y, kind, rate, path=reg_path, role="bypass", block=i)
    shape = (*m.shape[:-1], m.shape[-1] + y.shape[-1]) if m.known and y.known else UNKNOWN
    return p.add(Node(f"block{b}_merge", "concat", [m.name, y.name], shape, path, "merge", i))


def _gap(p: _Planner, i: int, x: Node) -> Node:
    """The between-block layers after block ``i``; returns the last node."""
    for j, units in enumerate(p.spec.inter_block_layers):
        x = p.dense(f"gap{i + 1}_dense{j + 1}", x, units, path=f"inter_block_layers[{j}]", role="inter")
        x = p.norm(f"gap{i + 1}_bn{j + 1}", x, path="inter_block_layers", role="inter")
    return x


def _head(p: _Planner, x: Node) -> Node:
    """The final Dense layers with their regularisers, and the output layer."""
    spec = p.spec
    kind, rate = spec.final_regularizer, spec.final_dropout
    reg_path = "final_dropout" if kind == "dropout" else "final_regularizer"
    for j, units in enumerate(spec.final_layers):
        x = p.dense(f"final_dense{j + 1}", x, units, path=f"final_layers[{j}]", role="final")
        x = p.regulariser(f"final_reg{j + 1}", x, kind, rate, path=reg_path, role="final")
    return p.dense("output", x, spec.num_outputs, path="num_outputs", role="output",
                   activation=spec.resolved_output_activation())


def _rescale(p: _Planner, out: Node) -> Node:
    """Regression: the output times the target's spread plus its mean (the network learns it standardised)."""
    scale = p.spec.target_scale
    if p.spec.task != "regression" or scale is None:
        return out
    return p.add(Node("target_scale", "rescale", [out.name], out.shape, "target_scale", "output",
                      extra={"scale": scale.std, "offset": scale.mean}))


def _network(p: _Planner, x: Node) -> Node:
    """The blocks, the gaps between them and the head; returns the output node."""
    for i, block in enumerate(p.spec.blocks):
        x = _block(p, i, block, x)
        if i < len(p.spec.blocks) - 1:
            x = _gap(p, i, x)
    return _head(p, x)


def make_plan(spec: ModelSpec, info: BaseInfo | None = None, *, strict: bool = True) -> list[Node]:
    """All layers of the model for ``spec``, in creation order.

    ``strict`` (the default): raises :class:`PlanError` when a base model's facts are not known.
    ``strict=False``: plans anyway, with unknown shapes as :data:`UNKNOWN` (``()``) and invalid widths
    counted as 0 parameters, for drawing a design that cannot be built yet.
    """
    info = _base_info(spec, info, strict)
    p = _Planner(spec, strict)
    x = _front(p, info)
    if spec.ensemble <= 1:
        _rescale(p, _network(p, x))
        return p.nodes
    if spec.members_side_by_side():
        # A packed ensemble: the features repeated once per member, every layer all members' at once, so
        # the output already holds the members' outputs side by side (members × outputs).
        shape = (spec.ensemble, *x.shape) if x.known else UNKNOWN
        x = p.add(Node("members_repeat", "repeat", [x.name], shape, "ensemble", "input",
                       extra={"members": spec.ensemble}))
        if spec.ensemble_layout == "shared":  # the members' own part: a scale per member and feature
            scales = spec.ensemble * max(x.shape[-1], 0) if x.known else 0
            x = p.add(Node("members_scale", "member_scale", [x.name], x.shape, "ensemble", "input",
                           params=scales, trainable_params=scales, flops=scales,
                           extra={"members": spec.ensemble}))
        p.packed = spec.ensemble
        stack = _rescale(p, _network(p, x))
        p.packed = 1
        p.add(Node(AVERAGE, "average", [stack.name], stack.shape[1:], "ensemble", "output",
                   extra={"members": spec.ensemble}))
        return p.nodes
    # An ensemble: K copies of the network after the shared front, each output as one row of a
    # (K, outputs) stack that training fits member by member, and the stack's mean as the prediction.
    rows = []
    for k in range(spec.ensemble):
        p.start_member(k)
        out = _network(p, x)
        rows.append(p.add(Node("as_row", "reshape", [out.name], (1, *out.shape), "ensemble", "output")))
    p.prefix, p.member = "", None
    stack = p.add(Node(MEMBERS, "stack", [r.name for r in rows], (spec.ensemble, *rows[0].shape[1:]), "ensemble",
                       "output"))
    stack = _rescale(p, stack)
    p.add(Node(AVERAGE, "average", [stack.name], stack.shape[1:], "ensemble", "output",
               extra={"members": spec.ensemble}))
    return p.nodes


def depth(nodes: list[Node]) -> int:
    """Weight layers (Dense, and the base model as one) on the longest input-to-output path."""
    longest: dict[str, int] = {}
    for node in nodes:
        before = max((longest[n] for n in node.inputs), default=0)
        longest[node.name] = before + (1 if node.op in DENSE_OPS or node.op == "base" else 0)
    return longest[nodes[-1].name]
