"""Evaluation: how good a generator's images are, offline.

- ``registry``: the metric registry (torch-free names, the function of each, its headline figures);
- ``metrics``: the metric functions (SWD, MS-SSIM diversity, FID/KID), each images -> dict;
- ``evaluate``: draws fakes from a generator and runs the named metrics against real images;
- ``digits``: the digit classifier (train, score) and how recognisable a generator's digits are;
- ``droplets``: StyleGAN2's droplet signal, per layer the feature maps' peak to mean magnitude (and the
  probe that reads those maps from either style block).

May import: ``errors``, ``fileio``, ``options``, ``data``, ``viz``, ``models``, ``latent`` (the rooms before it in the data flow; tests/test_layout.py checks it).
"""
