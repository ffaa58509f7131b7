"""The latent space: seeded latents, interpolation, and the latent tools.

The core (imported here; NumPy only, used by training, export and
evaluation): `standard_normal` / `truncated_normal` seeded latents,
`generate_in_batches`, and `lerp` / `slerp` / `interpolate`.

The tools, imported by module since they sit above evaluation in the layers
(they use its generator loader and classifiers):
`kgan.latent.animation` (strips, GIFs, training-progress animations),
`kgan.latent.concepts` (concept vectors and latent arithmetic),
`kgan.latent.projection` (an image -> the latent that reproduces it), and
`kgan.latent.commands` (what `generate.py` runs).
"""

from kgan.latent.interpolation import interpolate, lerp, slerp
from kgan.latent.seeds import Purpose, generate_in_batches, standard_normal, truncated_normal

__all__ = ["Purpose", "generate_in_batches", "interpolate", "lerp", "slerp", "standard_normal",
           "truncated_normal"]
