"""Editing: faces you can dial.

- ``names``: CelebA's attributes and the friendly names edits use (torch-free, for the CLI);
- the face-attribute classifier: ``attribute_classifier`` (its file, its 64x64 input, its probabilities),
  ``attribute_training`` (identity split, training, held-out report), ``attribute_commands`` (``facegan
  attributes train`` / ``score``); ``distill``: its distillation inputs;
- ``directions``: latent directions per attribute (InterFaceGAN, conditional, SeFa) and edits along them;
- ``projection``: a photo -> the latent code whose face matches it;
- ``mixing``: style mixing (layers of one face's styles from another's).

May import: ``errors`` .. ``training``, in particular ``latent`` and ``interop.export`` (the rooms before it in the data flow; tests/test_layout.py checks it).
"""
