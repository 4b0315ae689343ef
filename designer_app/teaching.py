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
same Dense layers and batch normalisation, the same widths, depth, seed and data). Both learn at the
same time and are redrawn every few epochs. With the settings as they open (16 blocks, two classes of
points on two spirals), the residual network learns the spirals and the plain one does not.
"""

SETUP_HELP = """
- **Every step sees all the training points** (full batch), so the curves show the networks, not the
  luck of a mini-batch. Batch normalisation then always uses the statistics of the whole training
  set, when learning and when predicting.
- **The learning rate** rises from 0 over the first tenth of the epochs and eases off to 0 by the
  last one (Adam, the same for both networks), so neither network is thrown about at the start.
- **The residual network starts quiet:** the scale of each block's last batch normalisation starts at
  0, so at first every main path adds nothing and the signal takes the short way, through the entry
  layers and bypasses; the main paths grow in as they learn. Residual networks are commonly started
  this way. The plain network cannot be (its only way through is its main paths), so it starts as
  Keras would, every scale at 1.
- **This is the original design:** the bypass forks *after* each block's entry layer, so even the
  short way passes one Dense layer per block. A 16-block residual network is, at its shortest, a
  16-layer MLP; the plain twin is a 32-layer one.
"""

SURFACE_HELP = """
**What to look for.** The colour is what each network predicts at every point of the plane; the dots
are the training points. At 16 blocks the residual network's border follows the spirals within the
first hundred epochs; the plain network's stays rough and misses whole arms, although it has the same
layers. **Try next:** set the depth to 1 and start again: both do about equally well. Then try 4 and 8,
and see where the plain network starts to fall behind.
"""

LOSS_HELP = """
**What to look for.** Solid lines are the training loss, dashed ones the validation loss (points the
networks never train on); lower is better, and 0.69 is what guessing scores. At 16 blocks the residual
network's training loss falls steadily to almost 0 (a small blip once it is already low is Adam
overshooting); the plain network's falls much later and more slowly. **Try next:** raise the noise:
when a validation line turns up while its training line keeps falling, that network is memorising the
noise (overfitting).
"""

GRADIENT_HELP = """
**What to look for.** How strongly each block's weights are pushed in one training step (the gradient
norm), from the first block (left) to the last (right), on a log scale. In the plain network the
gradient reaches a block only through every block after it, and with batch normalisation after every
layer each of them makes it larger: its first blocks get gradients tens to thousands of times larger
than its last ones (most at the start), so its blocks learn at very different speeds. The residual
network's line is far flatter: the gradient also takes the short way through the entry layers and
bypasses. Once the residual network
fits the training points, its gradients shrink towards 0. **Try next:** compare depth 4 and depth 16,
and watch how far the plain network's line tilts.
"""

SWEEP_HELP = """
**What to look for.** The final validation score of both networks for 1 to 16 blocks, everything else
unchanged. A deeper plain network does *worse*, although it could in principle do everything a
shallower one does; the residual network keeps its score as it grows, because each block's entry
output reaches the next block unchanged. **Try next:** run the sweep on other data sets and seeds.
"""
