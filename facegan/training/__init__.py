"""Training: one trainer for every architecture in the registry.

- ``loop``: ``train(cfg)`` -> run directory, readable top to bottom;
- ``setup``: a run's parts (networks, optimisers, precision, random streams, augmentation) built for
  training, CUDA tuning and torch.compile;
- ``steps``: ``d_step`` / ``g_step`` / ``train_step`` and the step iterator that the trainer and the
  benches share;
- ``state``: training-state checkpoints (save, keep the last N, load, migrate old formats);
- ``runlog``: the run directory, log lines and JSONL, the device-side meter, Ctrl-C;
- ``losses``, ``augment`` (DiffAugment), ``ema``, ``amp`` (precision), ``distributed`` (torchrun),
  ``device`` (picking one).

May import: ``errors`` .. ``config`` and ``interop`` (for the export) (the rooms before it in the data flow; tests/test_layout.py checks it).
"""
