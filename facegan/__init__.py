"""facegan: face generation with GANs — data, DCGAN, training, checkpoints, sampling.

Draw faces from a trained run::

    from facegan import load_generator, sample
    faces = sample(load_generator("runs/001-quick/generator.safetensors"), n=16, seed=0)
"""
from .checkpoint import export_generator, load_generator
from .config import PRESETS, TrainConfig, build_config
from .data import FaceDataset, load_dataset, load_faces
from .errors import FaceganError
from .latent import interpolate, sample
from .models import Discriminator, Generator
from .training import train

__version__ = "0.1.0"
__all__ = ["TrainConfig", "build_config", "PRESETS", "Generator", "Discriminator", "FaceDataset",
           "load_dataset", "load_faces", "train", "export_generator", "load_generator", "sample",
           "interpolate", "FaceganError", "__version__"]
