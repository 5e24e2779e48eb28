"""The fully connected GAN's own settings (torch-free: the CLI builds its flags from them)."""
from __future__ import annotations

from dataclasses import dataclass

from facegan.errors import FaceganError
from facegan.options import ArchConfig, option, require_probability


@dataclass
class MLPConfig(ArchConfig):
    mlp_hidden: str = option("256,512,1024", "mlp: G's hidden layer widths from z upwards; D uses them in reverse")
    mlp_dropout: float = option(0.3, "mlp: dropout after each of D's hidden layers (0 = off)")
    mlp_batchnorm: bool = option(False, "mlp: BatchNorm after each of G's hidden layers but the first (faster "
                                 "convergence)")

    def validate(self) -> None:
        require_probability("mlp_dropout", self.mlp_dropout, closed=False)
        self.widths()  # raises on a malformed list

    def widths(self) -> tuple[int, ...]:
        """G's hidden widths from z upwards (D's reversed)."""
        return mlp_widths(self.mlp_hidden)


def mlp_widths(text: str) -> tuple[int, ...]:
    """'256,512,1024' -> (256, 512, 1024): the mlp generator's hidden widths (its discriminator's reversed).

    >>> mlp_widths("128, 256")
    (128, 256)
    """
    try:
        widths = tuple(int(w) for w in text.split(",") if w.strip())
    except ValueError:
        widths = ()
    if not widths or min(widths) < 1:
        raise FaceganError(f"mlp_hidden must be comma-separated positive layer widths such as 256,512,1024 "
                           f"(got {text!r})")
    return widths
