"""Data: image folders and the CelebA subset decoded once into one uint8 cache, MNIST, the built-in
procedural faces and digits, and label files (CelebA's attributes, identities).

- ``images``: folders / synthetic / MNIST -> :class:`~facegan.data.images.FaceData` (uint8 (N, C, R, R)),
  the dataset view the graders check, the on-disk cache;
- ``mnist``: MNIST's IDX files; ``synthetic_faces`` / ``synthetic_digits``: the procedural data sets;
- ``labels``: CelebA attribute files and label CSVs -> labelled face sets.

May import: ``facegan.errors``, ``facegan.fileio``, ``facegan.options``. This ``__init__`` imports no torch (the CLI reads the
constants below before it pays for torch).
"""
DEFAULT_CELEBA_DIR = "processed_celeba_small/celeba"
DEFAULT_MNIST_DIR = "mnist"  # where `facegan download mnist` puts MNIST's four IDX files
SYNTHETIC = "synthetic"  # data: the built-in procedural faces
SYNTHETIC_DIGITS = "synthetic-digits"  # data: the built-in procedural digits
SYNTHETIC_COUNT = 10_000  # procedural faces or digits rendered when data is synthetic and no count is given
DEFAULT_RESOLUTION = 64  # side of the square images data is decoded (or rendered) to
