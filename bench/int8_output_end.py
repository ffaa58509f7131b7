"""Where a full_int8 image generator's int8 graph should end: grey levels and PSNR.

Converts one trained run's generator to full-int8 TFLite (uint8 output on the
tanh's fixed 1/128 grid) with several graph ends, and compares each with the
float images on the same latents: the plain tanh end, and tanh(c clip(a / c,
-1, 1)) for clips c, which gives the int8 tanh input a finer step at the cost
of saturating beyond c.

    python bench/int8_output_end.py --workdir=runs/mnist --clips=2,3,4
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from absl import app, flags

flags.DEFINE_string("workdir", None, "A trained image run.")
flags.DEFINE_list("clips", ["2", "3", "4"], "Clip values c of the pre-tanh activation.")
flags.DEFINE_integer("samples", 256, "Latents compared.")
flags.DEFINE_integer("calibration_samples", 200, "Calibration latents.")
flags.mark_flag_as_required("workdir")
FLAGS = flags.FLAGS


def main(argv):
    import keras
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)

    from kgan import checkpoints
    from kgan.latent import Purpose, standard_normal

    loaded = checkpoints.load_task(FLAGS.workdir)
    generator = loaded.generator
    pre_tanh = keras.Sequential(generator.body.layers[:-1])
    dim = loaded.spec.latent_dim
    z = standard_normal(0, Purpose.EVALUATION, FLAGS.samples, dim)
    activations = pre_tanh(z, training=False).numpy()
    reference = np.clip(np.round((np.tanh(activations) + 1) * 127.5), 0, 255).astype(np.uint8)
    calibration = standard_normal(0, Purpose.CALIBRATION, FLAGS.calibration_samples, dim)
    print(f"pre-tanh activations {activations.min():.1f}..{activations.max():.1f}, "
          f"{np.mean(np.abs(activations) > 4):.0%} beyond |4|")

    def convert(fn):
        traced = tf.function(fn, input_signature=[tf.TensorSpec([1, dim], tf.float32)])
        converter = tf.lite.TFLiteConverter.from_concrete_functions(
            [convert_variables_to_constants_v2(traced.get_concrete_function())])
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([calibration[i:i + 1]]
                                                    for i in range(len(calibration)))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_output_type = tf.uint8
        return converter.convert()

    def report(name, model):
        interp = Interpreter(model_content=model)
        interp.allocate_tensors()
        source = interp.get_input_details()[0]["index"]
        output = interp.get_output_details()[0]
        images = []
        for i in range(len(z)):
            interp.set_tensor(source, z[i:i + 1])
            interp.invoke()
            images.append(interp.get_tensor(output["index"]))
        images = np.concatenate(images).astype(np.float64)
        mse = np.mean((images - reference) ** 2)
        print(f"{name:28s} levels {np.unique(images).size:3d} (float {np.unique(reference).size}), "
              f"PSNR {10 * np.log10(255 ** 2 / mse):5.1f} dB, mean |diff| "
              f"{np.mean(np.abs(images - reference)):.2f} levels")

    report("tanh end", convert(lambda z: generator(z, training=False)))
    for clip in map(float, FLAGS.clips):
        report(f"tanh({clip:g} clip(a / {clip:g}))", convert(
            lambda z, c=clip: tf.tanh(c * tf.clip_by_value(pre_tanh(z, training=False) / c,
                                                           -1.0, 1.0))))


if __name__ == "__main__":
    app.run(main)
