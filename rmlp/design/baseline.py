"""A plain (non-residual) MLP with about the parameters of a residual design, to compare against.

The baseline keeps the residual model's front end (input, grayscale conversion, base model,
flatten) and replaces everything from the first block on with a stack of equally wide Dense
layers. Its depth follows the residual head's longest path (capped), and the common width is
solved from the parameter count, so the comparison shows what the bypasses buy at equal size.
Planning is pure Python; :mod:`rmlp.keras.baseline` builds the plan with Keras.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from rmlp.base.info import BaseInfo
from rmlp.design.plan import Node, depth, make_plan
from rmlp.spec.model import ModelSpec

#: The baseline never has more hidden Dense layers than this.
MAX_HIDDEN_LAYERS = 6
#: Roles of plan nodes that belong to the front end (kept as they are in the baseline).
FRONT_ROLES = ("input", "base")


@dataclass(frozen=True)
class BaselinePlan:
    """Shape of the plain MLP: hidden widths on top of the residual model's front end."""

    widths: list[int]
    feature_dim: int  # units reaching the first Dense layer
    num_outputs: int
    activation: str
    output_activation: str
    head_params: int  # parameters of the plain Dense stack (hidden layers and output)
    front_params: int  # parameters of the kept front end (base model, preprocessing)
    target_params: int  # head parameters it was sized to match
    feature_layer: str  # name of the plan node (= Keras layer) the stack is put on

    @property
    def total_params(self) -> int:
        return self.head_params + self.front_params

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["total_params"] = self.total_params
        return out


def stack_params(feature_dim: int, widths: list[int], num_outputs: int) -> int:
    """Parameters of Dense layers ``widths`` then an output layer, on ``feature_dim`` inputs."""
    total, fan_in = 0, feature_dim
    for w in [*widths, num_outputs]:
        total += (fan_in + 1) * w
        fan_in = w
    return total


def equal_width(feature_dim: int, hidden: int, num_outputs: int, target_params: int) -> int:
    """The width ``w`` of ``hidden`` equal Dense layers whose stack is closest to ``target_params``.

    Parameters of the stack: ``(hidden-1)·w² + (d + hidden + o)·w + o`` for ``d`` inputs and ``o``
    outputs; the real root is rounded to whichever neighbouring integer fits better.
    """
    d, o, n = feature_dim, num_outputs, hidden
    a, b, c = n - 1, d + n + o, o - target_params
    if a == 0:
        root = -c / b
    else:
        root = (-b + math.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)
    candidates = {max(1, math.floor(root)), max(1, math.ceil(root))}
    return min(sorted(candidates), key=lambda w: abs(stack_params(d, [w] * n, o) - target_params))


def _front_and_head(nodes: list[Node]) -> tuple[list[Node], Node]:
    """The front-end nodes and the node that feeds the first residual block."""
    entry = next(n for n in nodes if n.role == "entry")
    by_name = {n.name: n for n in nodes}
    feature = by_name[entry.inputs[0]]
    front = nodes[: nodes.index(feature) + 1]
    return front, feature


def plain_mlp_spec_like(spec: ModelSpec, target_params: int | None = None, max_hidden: int = MAX_HIDDEN_LAYERS,
                        info: BaseInfo | None = None) -> BaselinePlan:
    """Plan a plain MLP about as large as ``spec``'s residual head (or ``target_params``).

    Hidden layers: as many as the residual head has Dense layers on its longest path (output
    excluded), between 1 and ``max_hidden``; all equally wide, the width solved from the count.
    ``info``: the base model's facts when they are not known without Keras (a file not inspected yet).
    """
    nodes = make_plan(spec, info)
    front, feature = _front_and_head(nodes)
    front_params = sum(n.params for n in front)
    head_total = sum(n.params for n in nodes) - front_params
    target = head_total if target_params is None else int(target_params)
    head_depth = depth(nodes) - sum(1 for n in front if n.op == "base")
    hidden = min(max(head_depth - 1, 1), max_hidden)
    d, o = int(feature.shape[-1]), int(spec.num_outputs)
    width = equal_width(d, hidden, o, target)
    widths = [width] * hidden
    return BaselinePlan(
        widths=widths, feature_dim=d, num_outputs=o, activation=spec.activation,
        output_activation=spec.resolved_output_activation(),
        head_params=stack_params(d, widths, o), front_params=front_params,
        target_params=target, feature_layer=feature.name,
    )
