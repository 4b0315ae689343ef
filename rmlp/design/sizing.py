"""A design and a training budget sized to a table: what a newcomer gets before choosing anything.

The rules follow what the published tabular-MLP recipes found to work across many small and
medium tables (RealMLP, the ResNet baseline of "Revisiting Deep Learning Models for Tabular
Data", TabM): a few hundred units wide, regularised by weight decay, dropout and label smoothing
rather than made small; AdamW with a warm-up and a cosine decay; a batch that gives every epoch
enough steps, and enough epochs for a few thousand steps in all; and, as TabM found, several
networks averaged rather than one, which on small tables steadies what a single network gets from
its initial weights and its validation rows. They are written once, here, and
read by :func:`rmlp.data.fit.spec_for_data`, :class:`rmlp.runs.config.TrainConfig` and the search.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["batch_size_for", "design_for", "epochs_for", "members_for", "trial_epochs_for"]

#: Steps a training run aims for (epochs × batches per epoch), within the epoch bounds below.
TARGET_STEPS = 2000
MIN_EPOCHS, MAX_EPOCHS = 40, 300
MIN_BATCH, MAX_BATCH = 16, 256


def batch_size_for(rows: int) -> int:
    """About a sixteenth of the training rows, as a power of two from 16 to 256."""
    batch = 2 ** round(math.log2(max(int(rows) / 16, 1)))
    return min(max(batch, MIN_BATCH), MAX_BATCH)


def epochs_for(rows: int, batch_size: int) -> int:
    """Epochs that give about :data:`TARGET_STEPS` steps with batches of ``batch_size``, within 40…300."""
    batches = math.ceil(max(int(rows), 1) / max(int(batch_size), 1))
    return min(max(round(TARGET_STEPS / batches), MIN_EPOCHS), MAX_EPOCHS)


def trial_epochs_for(rows: int, batch_size: int) -> int:
    """Epochs of one search trial: a sixth of :func:`epochs_for`, 10 to 30 (the pruner stops most earlier).

    A trial only ranks a design; the promoted design is trained with the full budget.
    """
    return min(max(epochs_for(rows, batch_size) // 6, 10), 30)


#: The spec fields :func:`design_for` proposes; a spec whose values all equal the defaults is "not designed yet".
SIZED_FIELDS = ("blocks", "normalization", "bypass_regularizer", "bypass_dropout", "inter_block_layers", "final_layers",
                "final_dropout", "activation", "optimizer", "label_smoothing", "ensemble")

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


def design_for(rows: int, features: int, classification: bool) -> tuple[dict[str, Any], str]:
    """Spec fields of a residual MLP sized to a table, and a sentence saying what and why.

    Two blocks, the second half as wide as the first: 128 units below 1,000 training rows, else
    256, without the original's batch normalisation in the main path (small batches give it noisy
    statistics, and the published MLP recipes do without it). Like those recipes, it is kept from
    over-fitting small tables by regularisation (dropout 0.1, AdamW weight decay 0.02, label
    smoothing 0.1 for classes) rather than by being made tiny, and trained with GELU and a
    learning rate of 0.002 (warmed up, then cosine-decayed).
    Below :data:`SINGLE_FROM_ROWS` rows it is an ensemble of :data:`MEMBERS` such networks.
    """
    width = 128 if rows < WIDE_FROM_ROWS else 256
    members = members_for(rows)
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
    }
    size = "fewer" if rows < WIDE_FROM_ROWS else "at least"
    why = (f"Design sized to {rows} training rows of {features} features ({size} than {WIDE_FROM_ROWS:,} rows): two "
           f"residual blocks of {width} and {width // 2} units with GELU, no batch normalisation (batches of a few "
           "dozen rows make its statistics noisy), dropout 0.1 and AdamW (learning rate "
           f"0.002, weight decay 0.02){', label smoothing 0.1' if classification else ''}. "
           + (f"{members} such networks averaged, steadier than one on a table this small (by default each trains "
              "on all labelled rows but its own fold, which validates it; 1 ensemble member trains about 3 times "
              "faster). " if members > 1 else "")
           + "The original design (one block of 5 × 400 units) is the 'original_readme' preset.")
    return fields, why
