"""Instant summary of a spec: parameters, layers, depth, FLOPs and memory, without Keras."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from rmlp.design.plan import DENSE_OPS, FUNCTION_OPS, Node, depth, make_plan
from rmlp.spec.display import hook
from rmlp.spec.model import OPTIMIZERS, ModelSpec
from rmlp.spec.units import human_bytes, human_count

#: The batch size memory figures are given for unless told (the training default, see TrainConfig).
DEFAULT_BATCH_SIZE = 32
#: Bytes per value of activations for each supported dtype policy.
DTYPE_BYTES = {"float32": 4, "mixed_float16": 2, "mixed_bfloat16": 2, "float16": 2, "bfloat16": 2}
#: What TensorFlow itself holds while training (runtime, kernels, graph), measured roughly on CPU.
FRAMEWORK_OVERHEAD_BYTES = 400 * 2**20


@dataclass(frozen=True)
class Summary:
    """Figures of one design. Parameter counts equal what Keras reports for the built model."""

    total_params: int
    trainable_params: int
    non_trainable_params: int
    layers: int  # layers of the Keras model, the base model counting as one (keras.ops calls are not layers)
    dense_layers: int
    depth: int  # weight layers on the longest input-to-output path (base model as one)
    blocks: int
    flops: int  # per example, forward pass
    head_flops: int
    activations: int  # activation values per example (forward)
    activation_bytes: int  # per example at the chosen dtype
    batch_size: int
    dtype: str
    weights_bytes: int
    training_state_bytes: int  # gradients and optimizer slots
    peak_training_bytes: int  # estimate for one training step at batch_size
    output_shape: tuple[int, ...]
    feature_shape: tuple[int, ...]  # what reaches the first block

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def design_training_bytes(self) -> int:
        """"Training memory": what the design adds (weights, gradients, optimizer state, activations),
        without TensorFlow's fixed overhead; :attr:`peak_training_bytes` has it on top."""
        return max(int(self.peak_training_bytes) - FRAMEWORK_OVERHEAD_BYTES, 0)

    def rows(self) -> list[tuple[str, str]]:
        """The figures in words, one (label, value) pair each: what `rmlp summary` and a notebook show."""
        memory = (f"{human_bytes(self.design_training_bytes)} (peak about {human_bytes(self.peak_training_bytes)} "
                  "with TensorFlow's fixed overhead)")
        return [
            ("Parameters", f"{self.total_params:,} ({human_count(self.total_params)})"),
            ("Trainable", f"{self.trainable_params:,}"),
            ("Non-trainable", f"{self.non_trainable_params:,}"),
            ("Layers", str(self.layers)),
            ("Dense layers", str(self.dense_layers)),
            ("Depth", f"{self.depth} weight layers on the longest path"),
            ("Blocks", str(self.blocks)),
            ("Features into block 1", str(list(self.feature_shape))),
            ("FLOPs per example", human_count(self.flops)),
            ("Weights", human_bytes(self.weights_bytes)),
            (f"Training memory (batch {self.batch_size}, {self.dtype})", memory),
        ]

    def _repr_html_(self) -> str:
        return str(hook("summary_html")(self))

    @property
    def peak_training_gib(self) -> float:
        return self.peak_training_bytes / 2**30


def machine_memory_bytes() -> int:
    """Physical memory of this machine (0 when unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def summarize(spec: ModelSpec, batch_size: int = DEFAULT_BATCH_SIZE, dtype: str = "float32",
              nodes: list[Node] | None = None) -> Summary:
    """Figures for ``spec``; raises PlanError when a file base model has not been inspected."""
    nodes = nodes if nodes is not None else make_plan(spec)
    total = sum(n.params for n in nodes)
    trainable = sum(n.trainable_params for n in nodes)
    act_values = sum(n.elements for n in nodes if n.op != "base")
    act_values += sum(n.extra.get("activations", 0) for n in nodes if n.op == "base")
    act_bytes = DTYPE_BYTES.get(dtype, 4)
    weights = 4 * total
    slots = OPTIMIZERS[spec.optimizer.name].slots
    state = 4 * trainable * (1 + slots)
    # forward activations are kept for the backward pass, which needs about as much again
    activations = 2 * batch_size * act_values * act_bytes
    flops = sum(n.flops for n in nodes)
    first_block = next((n for n in nodes if n.role == "entry"), None)
    feature = nodes[[n.name for n in nodes].index(first_block.inputs[0])].shape if first_block else ()
    return Summary(
        total_params=total,
        trainable_params=trainable,
        non_trainable_params=total - trainable,
        layers=sum(n.op not in FUNCTION_OPS for n in nodes),
        dense_layers=sum(n.op in DENSE_OPS for n in nodes),
        depth=depth(nodes),
        blocks=len(spec.blocks),
        flops=flops,
        head_flops=sum(n.flops for n in nodes if n.op != "base"),
        activations=act_values,
        activation_bytes=act_values * act_bytes,
        batch_size=batch_size,
        dtype=dtype,
        weights_bytes=weights,
        training_state_bytes=state,
        peak_training_bytes=weights + state + activations + FRAMEWORK_OVERHEAD_BYTES,
        output_shape=nodes[-1].shape,
        feature_shape=tuple(feature),
    )
