"""Spec -> runnable Python, model files, and bundles of a design or a trained run.

Code generation follows one path: the layer plan (:func:`rmlp.design.plan.make_plan`) becomes a
plain data structure of code fragments (:mod:`~rmlp.export.code`), a Jinja2 template arranges them,
black formats the result and ``ast.parse`` / ``compile`` check it before anyone sees it
(:mod:`~rmlp.export.render`). Every user-typed string (model name, paths, column names, layer
names) enters the code only through :func:`repr` (or a JSON text in a raw string that is parsed
back to check it), so it can never become code.

The exported model script imports Keras only (NumPy and pandas for its optional training part) and
rebuilds exactly the model :func:`rmlp.build_model` builds: same layer names, types, widths, order
and parameter count, same compile settings. Nothing here imports Keras except
:func:`~rmlp.export.files.save_keras`, :func:`~rmlp.export.files.export_savedmodel`, a bundle given
a model to save, and exporting a spec whose ``.keras`` base-model file has not been inspected yet.
"""

from __future__ import annotations

from rmlp.export.bundle import make_bundle, run_export_inputs
from rmlp.export.code import ExportError, model_code_data
from rmlp.export.files import export_savedmodel, graph_svg, named, save_keras
from rmlp.export.scripts import export_predict_script, export_python, export_snippet

__all__ = [
    "ExportError", "export_predict_script", "export_python", "export_savedmodel", "export_snippet", "graph_svg",
    "make_bundle", "model_code_data", "named", "run_export_inputs", "save_keras",
]
