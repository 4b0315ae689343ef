"""Loading a ``.keras`` base model: checked first, then loaded safely, then cut at a layer.

:func:`load_keras_file_safely` lets Keras near a file only after :func:`~rmlp.base.safety.check_keras_file`
passed it, from a temporary copy of our own naming, with ``safe_mode=True`` and no custom objects.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from rmlp.base.safety import check_keras_file, file_problem
from rmlp.spec.problems import Problem, SpecError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import keras


def load_keras_file_safely(path: str | Path) -> keras.Model:
    """Check, copy to a temp file of our own naming and load with ``safe_mode=True``.

    Raises :class:`SpecError` (never a raw traceback) when the file is refused or Keras fails.
    """
    what = "The base model file"
    problems = check_keras_file(path)
    if problems:
        raise SpecError(problems, what=what)
    import keras

    tmpdir = tempfile.mkdtemp(prefix="rmlp-base-")
    try:
        tmp = Path(tmpdir) / "base_model.keras"
        shutil.copyfile(path, tmp)
        try:
            model = keras.saving.load_model(tmp, safe_mode=True, compile=False)
        except Exception as exc:  # noqa: BLE001 - any loading failure becomes a problem
            text = _reason(exc)
            raise SpecError([file_problem(
                f"Keras could not load '{Path(path).name}': {type(exc).__name__}: {text}",
                fix="Check that the file was saved by Keras 3 with model.save('name.keras').",
            )], what=what) from None
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    if not isinstance(model, keras.Model):
        raise SpecError([file_problem(f"'{Path(path).name}' does not hold a Keras model.", fix="Use another file.")],
                        what=what)
    return model


def _reason(exc: BaseException, limit: int = 600) -> str:
    """Keras's message on one line: all its lines (the reason is often after the first), cut at ``limit``."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    refusals = [line for line in lines if line.startswith("Not allowed")]
    text = " ".join(refusals + [line for line in lines if line not in refusals]) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cut(model: keras.Model, cut_layer: str) -> keras.Model:
    """The model up to (and including) ``cut_layer``; SpecError when there is no such layer."""
    import keras

    if not cut_layer:
        return model
    names = [layer.name for layer in model.layers]
    if cut_layer not in names:
        few = ", ".join(repr(n) for n in names[-8:])
        which = "Its layers are" if len(names) <= 8 else f"Its last 8 of {len(names)} layers are"
        raise SpecError([Problem(
            path="base_model.cut_layer",
            severity="error",
            message=f"The base model has no layer named {cut_layer!r}. {which} {few}.",
            fix="Use one of the model's layer names, or leave the field empty to use its output.",
        )], what="The base model file")
    layer = model.get_layer(cut_layer)
    try:
        output = layer.output
    except (AttributeError, ValueError) as exc:
        raise SpecError([Problem(
            path="base_model.cut_layer",
            severity="error",
            message=f"The model cannot be cut at {cut_layer!r}: {exc}",
            fix="Choose a layer that is used once on the path to the output.",
        )], what="The base model file") from None
    return keras.Model(model.inputs, output, name=f"{model.name}_cut")


def load_cut(path: str | Path, cut_layer: str) -> keras.Model:
    model = cut(load_keras_file_safely(path), cut_layer)
    if len(model.inputs) != 1 or len(tuple(model.inputs[0].shape)) != 4:
        shapes = [tuple(t.shape) for t in model.inputs]
        raise SpecError([file_problem(
            f"A base model must take one image input (batch, height, width, channels); this one "
            f"takes {shapes}.",
            fix="Use an image model with a single input.",
        )], what="The base model file")
    if len(model.outputs) != 1:
        raise SpecError([Problem(
            path="base_model.cut_layer", severity="error",
            message=f"The base model has {len(model.outputs)} outputs; one is needed.",
            fix="Cut the model at the layer whose output should feed the residual MLP.",
        )], what="The base model file")
    return model
