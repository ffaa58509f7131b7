"""`evaluate.py`'s printed translation report names every figure the report holds."""

from kgan.commands.evaluate import translation_lines


def realism(fid, kid):
    return {"fid": fid, "kid": {"mean": kid, "std": 0.001, "subsets": 10, "subset_size": 100},
            "real_images": 10000}


def test_every_figure_of_a_labelled_translation_is_printed():
    judged = {"real_digits": 10000, "classifier_test_accuracy": 0.992,
              "outputs": {"accuracy": 0.788, "frechet_distance": 55.12},
              "inputs": {"accuracy": 0.932, "frechet_distance": 56.76}}
    report = {"source": "runs/simgan (step 1500)", "step": 1500, "split": "heldout",
              "directions": {"serving_default": {
                  "source": "synthetic digits", "target": "MNIST-like digits", "inputs": 1000,
                  "change_levels": 19.89, "digit_classifier": judged,
                  **realism(12.345, 0.01234), "inputs_realism": realism(23.456, 0.02345)}}}
    lines = translation_lines(report)
    assert lines[1:] == [
        "  serving_default: synthetic digits -> MNIST-like digits (1000 inputs)",
        "    mean change 19.89 levels per pixel",
        "    MNIST classifier: class kept 0.788 (inputs 0.932), Frechet distance to 10000 "
        "real digits 55.12 (inputs 56.76)",
        "    FID 12.345, KID 0.01234 +- 0.00100 against 10000 real images",
        "    inputs: FID 23.456, KID 0.02345",
    ]
