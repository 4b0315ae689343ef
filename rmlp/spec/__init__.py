"""The model spec and the vocabulary every setting is declared in (pure Python, the lowest layer).

What a user writes down: :class:`~rmlp.spec.model.ModelSpec` and its parts, the field helper and
metadata table (:mod:`rmlp.spec.fields`), field paths, problems, JSON/YAML files and presets.
Nothing here imports another part of rmlp.
"""
