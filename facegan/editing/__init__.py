"""Editing: faces you can dial.

- ``names``: CelebA's attributes and the friendly names edits use (torch-free, for the CLI);
- ``attributes``: the face-attribute classifier (train, score, load) and its distillation inputs;
- ``directions``: latent directions per attribute (InterFaceGAN, conditional, SeFa) and edits along them;
- ``projection``: a photo -> the latent code whose face matches it;
- ``mixing``: style mixing (layers of one face's styles from another's).

May import: ``errors`` .. ``training``, in particular ``latent`` and ``interop.export`` (the rooms before it in the data flow; tests/test_layout.py checks it).
"""
