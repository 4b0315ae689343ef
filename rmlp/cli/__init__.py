"""The ``rmlp`` command line: a thin wrapper over the library.

Design commands (``validate``, ``summary``, ``graph``, ``export --format py|snippet``, ``init``)
never import TensorFlow; ``train``, ``resume``, ``inspect-base`` and ``export --format keras``
import it inside the command. A user's mistake (a missing or bad spec file, a bad data file, a
spec with errors) prints a plain message to stderr and exits non-zero, never a traceback; set
``RMLP_DEBUG=1`` to see the traceback of an unexpected error.

The commands live by group: :mod:`~rmlp.cli.design`, :mod:`~rmlp.cli.training`,
:mod:`~rmlp.cli.search`, :mod:`~rmlp.cli.start`; the options of every setting come from its
declaration (:mod:`~rmlp.cli.options`).
"""

from __future__ import annotations

import os

import typer

from rmlp.cli import design, learn, runs, search, start, training
from rmlp.runs.quiet import quiet_tensorflow_import

__all__ = ["app", "main"]

app = typer.Typer(
    name="rmlp",
    help=(
        "Design, check, train and export residual MLPs (Keras 3).\n\n"
        "A model is one spec file (JSON or YAML). Start with `rmlp init -o spec.json`, check it with "
        "`rmlp validate spec.json`, look at it with `rmlp summary spec.json` and `rmlp graph spec.json`, "
        "train it with `rmlp train spec.json --data table.csv --target label`, and export it with "
        "`rmlp export spec.json --format py`."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
for group in (design, training, runs, learn, search, start):
    group.register(app)


def main() -> None:
    """Entry point of the ``rmlp`` command."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow start-up chatter
    quiet_tensorflow_import()  # and the lines it prints while it is imported, before that level applies
    app(prog_name="rmlp")
