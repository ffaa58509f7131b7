"""The base of kgan's networks: all layers in one `keras.Sequential` block."""

import keras


class SequentialBodyModel(keras.Model):
    """A model that runs `self.body`, a `keras.Sequential` set by the subclass.

    Keeping the layers in a Sequential block, not a plain list attribute,
    matters: under Keras 3 on TensorFlow, layers in a list are silently left
    out of `tf.train.Checkpoint`.
    """

    def build(self, input_shape):
        self.body.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        return self.body(inputs, training=training)
