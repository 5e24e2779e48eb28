"""Interop: files from and for the outside world.

- ``export``: the generator export (safetensors + metadata) and ``load_generator``;
- ``nvidia_pickle``: the allow-list reader of NVIDIA's network pickles (nothing in a file ever runs);
- ``importers``: ``facegan import``: a format's reader -> one forward-pass check -> a facegan export;
  the readers, one per format: ``nvidia_stylegan2``, ``nvidia_stylegan3`` (NVIDIA's pickles) and
  ``rosinality`` (stylegan2-pytorch checkpoints); what they share: ``nvidia_generator`` (the pickles'
  G_ema record and init arguments) and ``foreign_weights`` (weights copied in exactly, w_avg estimated);
- ``pretrained``: the list of NVIDIA's pre-trained generators; ``download``: the only network access.

May import: ``errors`` .. ``evaluation`` and ``config`` (the rooms before it in the data flow; tests/test_layout.py checks it).
"""
