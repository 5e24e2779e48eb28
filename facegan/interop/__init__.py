"""Interop: files from and for the outside world.

- ``export``: the generator export (safetensors + metadata) and ``load_generator``;
- ``nvidia_pickle``: the allow-list reader of NVIDIA's network pickles (nothing in a file ever runs);
- ``stylegan``: NVIDIA StyleGAN2 pickles and rosinality checkpoints -> facegan exports;
- ``pretrained``: the list of NVIDIA's pre-trained generators; ``download``: the only network access.

May import: ``errors`` .. ``evaluation`` and ``config`` (the rooms before it in the data flow; tests/test_layout.py checks it).
"""
