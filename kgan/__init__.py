"""kgan: train GANs with TensorFlow/Keras 3 and ship their generators."""

__version__ = "0.1.0"
