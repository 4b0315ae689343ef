"""Base models for transfer learning: what is known about them without Keras, and making them with it.

:mod:`rmlp.base.info` is pure (the design path reads it); loading, checking and building base
models import Keras inside their functions only.
"""
