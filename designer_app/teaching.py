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

# ---------------------------------------------------------------------- the Learn page's live experiment
EXPERIMENT_INTRO = """
**See it, don't take it on trust.** Below, the *same* network is trained twice on a small toy data
set: once **with** the bypass around every block (residual) and once **without** it (plain MLP: the
same Dense layers, the same widths, the same depth, the same seed and batches). Both sides learn at
the same time and are redrawn every few epochs.
"""

SURFACE_HELP = """
**What to look for.** The colour is what each network predicts at every point of the plane; the dots
are the training points. A network that learns draws a boundary that follows the dots (for the curve:
a line through them). With many blocks the plain side often stays a flat, single colour for a long
time: it is stuck. **Try next:** set the depth to 2, start again; then 16.
"""

LOSS_HELP = """
**What to look for.** Solid lines are the training loss, dashed ones the validation loss (points the
networks never train on). Lower is better. If the plain network's line stays flat while the residual
one falls, depth is hurting the plain network. **Try next:** raise the noise: when the validation
line turns up while the training line keeps falling, the network memorises the noise (overfitting).
"""

GRADIENT_HELP = """
**What to look for.** How strongly each block's weights are pushed in one training step (the gradient
norm), from the first block (left) to the last (right), on a log scale. Without the bypass the
gradient has to pass back through every later block, and each one rescales it, so the blocks learn
at very different speeds. In these networks (batch normalisation after every Dense layer) the plain
twin's first blocks usually get gradients many times larger than its last ones: the line rises to
the left and training jumps about; in networks without normalisation it falls instead and the first
blocks barely move. Either way the steps are uneven. With the bypass the gradient also takes the
short way around, so the line stays flatter and every block learns at a similar pace.
**Try next:** compare depth 4 and depth 16, and watch how far the two lines drift apart.
"""

SWEEP_HELP = """
**What to look for.** The final validation score of both networks for depths from 1 block to many,
everything else unchanged. A deeper plain network often gets *worse*, although it could in principle
do everything a shallower one does; the residual network keeps up or improves, because a block can
learn to pass its input on unchanged. **Try next:** run the sweep again with a lower learning rate.
"""
