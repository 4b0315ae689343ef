"""A design and a training budget sized to a table: what a newcomer gets before choosing anything.

The rules follow what the published tabular-MLP recipes found to work across many small and
medium tables (RealMLP, the ResNet baseline of "Revisiting Deep Learning Models for Tabular
Data", TabM): a few hundred units wide, regularised by weight decay, dropout and label smoothing
rather than made small; AdamW with a warm-up and a cosine decay; a batch that gives every epoch
enough steps for early stopping to judge it (an eighth of the rows), and enough epochs for about a
thousand steps in all; and, as TabM found, several networks averaged rather than one, which on
small tables steadies what a single network gets from its initial weights and its validation rows.
They are written once, here, and read by :func:`rmlp.data.fit.spec_for_data`,
:class:`rmlp.runs.config.TrainConfig` and the search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rmlp.spec.model import ModelSpec

__all__ = ["SINGLE", "Budget", "batch_size_for", "budget_for", "design_for", "embedding_for", "epochs_for",
           "members_for", "trial_epochs_for"]

#: Steps a training run aims for (epochs × batches per epoch), within the epoch bounds below.
TARGET_STEPS = 1000
#: Batches of about ``rows / BATCH_SHARE`` rows: about this many steps an epoch.
BATCH_SHARE = 8
MIN_EPOCHS, MAX_EPOCHS = 40, 300
MIN_BATCH, MAX_BATCH = 16, 256


@dataclass(frozen=True)
class Budget:
    """How a run is sized to its rows: batches of about ``rows / share`` rows (a power of two within
    ``min_batch``…``max_batch``) and epochs for about ``target_steps`` steps (``min_epochs``…``max_epochs``);
    early stopping waits for the first ``1 / wait_divisor`` of the epochs."""

    share: int
    target_steps: int
    min_epochs: int
    max_epochs: int
    min_batch: int
    max_batch: int
    wait_divisor: int = 5

    def wait(self, epochs: int) -> int:
        """Epochs trained before early stopping may stop."""
        return int(epochs) // self.wait_divisor

    def batch_size(self, rows: int) -> int:
        batch = 2 ** round(math.log2(max(int(rows) / self.share, 1)))
        return min(max(batch, self.min_batch), self.max_batch)

    def epochs(self, rows: int, batch_size: int) -> int:
        batches = math.ceil(max(int(rows), 1) / max(int(batch_size), 1))
        return min(max(round(self.target_steps / batches), self.min_epochs), self.max_epochs)


#: Every run: about eight batches an epoch, about 1,000 steps.
#:
#: The published recipes train with batches of 256 rows; on a table of a few hundred rows that is one or
#: two steps an epoch, too few for early stopping to judge epoch by epoch, so a batch is an eighth of the
#: rows. Before, it was a sixteenth for about 2,000 steps in the same epochs: on the sample tables and
#: four package tables (two splits each) the larger batches scored the same on average (a test row more
#: or less on five splits, 1% more RMSE on diabetes) in 0.7 of the time with the patience of 16 epochs.
SINGLE = Budget(BATCH_SHARE, TARGET_STEPS, MIN_EPOCHS, MAX_EPOCHS, MIN_BATCH, MAX_BATCH)


def budget_for(members: int, layout: str) -> Budget:
    """The training budget of a design: :data:`SINGLE`, for one network and for an ensemble in either layout.

    A packed ensemble computes its members together, but each member still needs as many epochs as one
    network: a shorter budget of 800 steps in 20 to 50 epochs (tried) cost test rows on small tables
    (breast_cancer, cars), where the same epochs in larger batches did not.
    """
    return SINGLE


def batch_size_for(rows: int) -> int:
    """About an eighth of the training rows, as a power of two from 16 to 256."""
    return SINGLE.batch_size(rows)


def epochs_for(rows: int, batch_size: int) -> int:
    """Epochs that give about :data:`TARGET_STEPS` steps with batches of ``batch_size``, within 40…300."""
    return SINGLE.epochs(rows, batch_size)


def trial_epochs_for(rows: int, batch_size: int) -> int:
    """Epochs of one search trial: a sixth of :func:`epochs_for`, 10 to 30 (the pruner stops most earlier).

    A trial only ranks a design; the promoted design is trained with the full budget.
    """
    return min(max(epochs_for(rows, batch_size) // 6, 10), 30)


#: The spec fields :func:`design_for` proposes; a spec whose values all equal the defaults is "not designed yet".
SIZED_FIELDS = ("blocks", "normalization", "bypass_regularizer", "bypass_dropout", "inter_block_layers", "final_layers",
                "final_dropout", "activation", "optimizer", "label_smoothing", "ensemble", "ensemble_layout",
                "embedding")

#: The piecewise-linear embedding is proposed from this many training rows ...
EMBED_FROM_ROWS = 1000
#: ... when numbers are at least this share of the encoded features ...
EMBED_NUMERIC_SHARE = 0.5
#: ... and the embedded features (features × 8 values) stay at most this wide: they are the first layer's
#: inputs in every member, and beyond this width that layer costs more time than packing the members saves.
EMBED_MAX_WIDTH = 256
#: The bins a design's piecewise-linear embedding has unless it says otherwise.
DEFAULT_BINS: int = ModelSpec.model_fields["embedding_bins"].default


def embedding_for(features: int, numeric: int, rows: int, bins: int = DEFAULT_BINS) -> tuple[str, str]:
    """The embedding a sized design proposes for ``features`` encoded columns of which ``numeric`` are numbers,
    on ``rows`` training rows, and why, in words.

    Piecewise-linear ("PLE": ``bins`` bins between quantiles of each feature, then a linear layer with ReLU per
    feature) from :data:`EMBED_FROM_ROWS` rows, when numbers are at least half the columns (it embeds numbers;
    one-hot columns gain nothing from it) and the embedded width (8 values per feature) stays within
    :data:`EMBED_MAX_WIDTH` (32 features); else none. Below that many rows its per-feature layers are fitted on
    too few rows: on tables of a few hundred rows both embeddings cost test rows more often than they gained
    them, where the numerical-embedding papers measured their gains on tables of thousands. From that many rows
    both helped on tables whose target follows thresholds of single columns, the piecewise one a little more
    (its bins are fixed, so it has fewer weights to learn than the periodic one's frequencies). Above that width
    it multiplies the first layer's cost: on the 64 pixel columns of the digits the periodic embedding took
    1.3-2.2 times as long as none and scored the same or a test row or two lower.
    """
    width = 8 * features
    on = "`\"embedding\": \"piecewise\"` (or `\"periodic\"`) turns it on"
    if rows < EMBED_FROM_ROWS:
        return "none", (f"no feature embedding (fewer than {EMBED_FROM_ROWS:,} training rows: too few to learn a "
                        f"layer per feature; {on})")
    if numeric < 1 or numeric < EMBED_NUMERIC_SHARE * features:
        return "none", (f"no feature embedding ({numeric} of {features} columns are numbers; the embeddings are "
                        "for tables of mostly numeric columns)")
    if width > EMBED_MAX_WIDTH:
        return "none", (f"no feature embedding ({features} columns would embed to {width:,} values, more than "
                        f"{EMBED_MAX_WIDTH:,}: the first layer would cost more time than it is likely to gain; "
                        f"{on})")
    return "piecewise", (f"a piecewise-linear embedding of each feature ({numeric} of {features} columns are "
                         f"numbers: its position in {bins} bins between quantiles of its training values, then a "
                         "linear layer with ReLU per feature, which lets the network follow sharp thresholds of "
                         "single columns as trees do)")

#: Rows from which the wider design is proposed.
WIDE_FROM_ROWS = 1000
#: Members of the proposed ensemble, and the training rows from which a single network is proposed instead.
MEMBERS, SINGLE_FROM_ROWS = 5, 10_000


def members_for(rows: int) -> int:
    """Networks the sized design averages: :data:`MEMBERS` below :data:`SINGLE_FROM_ROWS` training rows, else 1.

    On a small table a single network's score swings with its initial weights and with which rows
    happen to validate it; the average of five (each validated on its own fold of the labelled
    rows, see :mod:`rmlp.runs.folds`) is steadier and better, for about three times the training
    time. A large table leaves less to average away, and a single network trains faster.
    """
    return MEMBERS if int(rows) < SINGLE_FROM_ROWS else 1


def design_for(rows: int, features: int, classification: bool,
               numeric: int | None = None, bins: int = DEFAULT_BINS) -> tuple[dict[str, Any], str]:
    """Spec fields of a residual MLP sized to a table, and a sentence saying what and why.

    Two blocks, the second half as wide as the first: 128 units below 1,000 training rows, else
    256, without the original's batch normalisation in the main path (small batches give it noisy
    statistics, and the published MLP recipes do without it). Like those recipes, it is kept from
    over-fitting small tables by regularisation (dropout 0.1, AdamW weight decay 0.02, label
    smoothing 0.1 for classes) rather than by being made tiny, and trained with GELU and a
    learning rate of 0.002 (warmed up, then cosine-decayed). It has no learned feature scales
    (``feature_scale``): on the tables measured they were as good as none within noise (cars up on three
    splits, not on twelve; digits and one regression table slightly down), and in a packed ensemble
    any trained layer before the members' ``RepeatVector`` makes TensorFlow print a oneDNN line while it fits.
    Below :data:`SINGLE_FROM_ROWS` rows it is a packed ensemble of :data:`MEMBERS` such networks; the
    features are embedded as :func:`embedding_for` says (``numeric``: the numeric columns, None: all).
    """
    width = 128 if rows < WIDE_FROM_ROWS else 256
    members = members_for(rows)
    embedding, embed_why = embedding_for(features, features if numeric is None else numeric, rows, bins)
    fields: dict[str, Any] = {
        "blocks": [{"layers": 2, "width": width, "decrement": width // 4, "bypass": []},
                   {"layers": 2, "width": width // 2, "decrement": width // 8, "bypass": []}],
        "normalization": "none",
        "bypass_regularizer": "dropout",
        "bypass_dropout": 0.1,
        "inter_block_layers": [],
        "final_layers": [],
        "final_dropout": 0.1,
        "activation": "gelu",
        "optimizer": {"name": "adamw", "learning_rate": 2e-3, "clipnorm": 1.0, "weight_decay": 0.02},
        "label_smoothing": 0.1 if classification else 0.0,
        "ensemble": members,
        "ensemble_layout": "packed",
        "embedding": embedding,
    }
    size = f"fewer than {WIDE_FROM_ROWS:,} rows" if rows < WIDE_FROM_ROWS else f"{WIDE_FROM_ROWS:,} rows or more"
    why = (f"Design sized to {rows} training rows of {features} features ({size}): two "
           f"residual blocks of {width} and {width // 2} units with GELU, no batch normalisation (batches of an "
           "eighth of a small table, a few dozen to a few hundred rows, make its statistics noisy), dropout 0.1 and "
           "AdamW (learning rate "
           f"0.002, weight decay 0.02){', label smoothing 0.1' if classification else ''}. "
           + f"Features: {embed_why}. "
           + (f"{members} such networks averaged, steadier than one on a table this small, packed so that each layer "
              "computes all members at once (by default each trains on all labelled rows but its own fold, which "
              "validates it). " if members > 1 else "")
           + "The original design (one block of 5 × 400 units) is the 'original_readme' preset.")
    return fields, why
