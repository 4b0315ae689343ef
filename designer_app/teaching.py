"""Plain-words explanations shown beside the graph and on the Learn page."""

from __future__ import annotations

RESIDUAL_MLP_IDEA = """
A **residual MLP** is a stack of Dense layers with shortcuts.

Each **block** `[j, k, l]` starts with an *entry* Dense layer of **k** units, whose output goes
two ways:

- the **main path** (blue): **j** Dense layers, each **l** units narrower than the one before
  (k, k − l, k − 2l, …), each with batch normalisation;
- the **bypass** (orange, dashed): dropout or batch normalisation, optionally a few small
  Dense layers.

The two ends are **concatenated** (green), not added, so the block's output is as wide as both
together. The bypass lets the plain signal, and its gradient, skip the deep stack: deep networks
train more easily, while the main path learns finer features.

A **base model** (a pre-trained image network) may turn images into features first; **final
Dense layers** narrow everything down to the **output** (purple).

*Hover over a node to see what it is and which control sets it.*
"""

LEGEND = (
    ("#1f5fa8", "Main path: Dense + batch norm, shrinking by l units per layer"),
    ("#d9730d", "Bypass: around the main path (dashed arrows)"),
    ("#2e8b3e", "Merge: Concatenate (widths add up)"),
    ("#9a7b00", "Base model (transfer learning)"),
    ("#6a3d9a", "Output layer"),
)

MEMORY_HELP = (
    "An estimate of the memory one training step needs at this batch size: the weights, their "
    "gradients and optimizer state, the activations kept for back-propagation and TensorFlow's own "
    "overhead. The original package's users ran out of 45 GB without warning; this is the number to watch."
)

FIGURE_HELP = {
    "total": "Every weight of the model, as Keras counts them (batch-norm statistics and the base model included).",
    "trainable": "Weights that training changes (frozen base-model layers and batch-norm statistics excluded).",
    "layers": "Keras layers of the model (a base model counts as one).",
    "depth": "Weight layers (Dense, and the base model as one) on the longest path from input to output.",
    "flops": "Floating-point operations for one example, forward pass.",
}
