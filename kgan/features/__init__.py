"""Trained, frozen networks that judge images, built and cached once.

Evaluation measures generated images with them (the CelebA attribute
classifier's accuracy and features), and tasks learn from their features (the
`srgan` content loss). They learn from `kgan.data` and never from a run, so
they sit below both.
"""
