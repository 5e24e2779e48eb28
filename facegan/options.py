"""Config dataclasses' shared machinery, torch-free: a field with its CLI help (and allowed values)
beside its default, and the checks every config runs (names, types, choices).

:class:`facegan.config.TrainConfig` and each architecture's own config
(``facegan.models.<arch>.config``) are built from these, so the CLI generates its flags from them and a
default lives in exactly one place.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from facegan.errors import FaceganError

TYPES = {"int": int, "float": float, "str": str, "bool": bool}  # annotations are strings (future import)


def option(default, help: str, choices: tuple | None = None):
    """A dataclass field with its CLI help (and allowed values) stored next to the default."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices})


def options(cls) -> list[dataclasses.Field]:
    """The fields of a config class that are plain options (int, float, str, bool)."""
    return [f for f in dataclasses.fields(cls) if f.type in TYPES]


def coerce(cls, values: dict[str, Any]) -> dict[str, Any]:
    """Check names and types of ``cls``'s option values; ints are accepted for floats. Unknown keys are errors."""
    types = {f.name: TYPES[f.type] for f in options(cls)}
    out = {}
    for key, value in values.items():
        if key not in types:
            raise FaceganError(f"unknown config key {key!r}; valid keys: {', '.join(types)}")
        want = types[key]
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise FaceganError(f"config {key} must be {want.__name__}, got {value!r}")
        out[key] = value
    return out


def check_choices(config) -> None:
    """Each option with allowed values holds one of them."""
    for f in options(type(config)):
        value, choices = getattr(config, f.name), f.metadata["choices"]
        if choices and value not in choices:
            raise FaceganError(f"{f.name} must be one of {', '.join(map(str, choices))} (got {value!r})")


def require_positive(config, *names: str) -> None:
    for name in names:
        if not getattr(config, name) > 0:
            raise FaceganError(f"{name} must be > 0 (got {getattr(config, name)})")


def require_probability(name: str, value: float, closed: bool = True) -> None:
    """``value`` in [0, 1] (``closed``) or [0, 1)."""
    if not (0 <= value <= 1 if closed else 0 <= value < 1):
        raise FaceganError(f"{name} is a probability: it must be in [0, {'1]' if closed else '1)'} (got {value})")


class ArchConfig:
    """Base of the architectures' config dataclasses: validated on construction, plain dicts in and out."""

    GROWS = False  # whether its networks follow a progressive-growing schedule (set_phase)

    def __post_init__(self) -> None:
        check_choices(self)
        self.validate()

    def validate(self) -> None:
        """Reject values that cannot work (each architecture adds its own checks)."""

    def check_training(self, batch_size: int) -> None:
        """Reject a training batch this architecture cannot take (most take any)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        return cls(**coerce(cls, values))
