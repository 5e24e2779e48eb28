"""Evaluation: how good a generator's images are, offline.

- ``metrics``: a registry of metric functions (SWD, MS-SSIM diversity, FID/KID), each images -> dict;
- ``evaluate``: draws fakes from a generator and runs the named metrics against real images;
- ``digits``: the digit classifier (train, score) and how recognisable a generator's digits are.

May import: ``errors``, ``fileio``, ``config``, ``viz``, ``data``, ``models``, ``latent``.
"""
