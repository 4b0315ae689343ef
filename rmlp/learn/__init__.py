"""Teaching experiments: toy data, the with/without-bypass twins, gradient flow, depth sweeps, ablations.

``import rmlp.learn`` does not import TensorFlow; Keras comes in when an experiment runs.
"""
