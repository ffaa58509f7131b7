"""Quality metrics for generators: FID and KID on TTUR Inception features.

Work in progress (issue 5): the distances, the Inception feature extractor and
the cached reference features are here; generator sampling, the MNIST
classifier metrics, `evaluate.py` and the in-training callback come next.
"""
