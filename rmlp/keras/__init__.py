"""The Keras part: the layer plan built into a compiled Keras 3 model, callbacks, metrics, scoring.

Everything that needs Keras lives here (Keras is imported inside functions, so importing these
modules stays cheap); the layers above (runs, search, export of trained models) call into it.
"""
