"""The design path: spec -> layer plan, summary, graph and problems, in milliseconds, without Keras.

Imports :mod:`rmlp.spec` and the base-model facts of :mod:`rmlp.base.info`; never TensorFlow.
"""
