"""Attribute names, torch-free (the CLI checks them before importing anything heavy): CelebA's 40, the
friendly names edits use, and parsing of ``--edit age=+2,smile=-1``."""
from __future__ import annotations

from facegan.data.celeba import CELEBA_ATTRIBUTES
from facegan.errors import FaceganError

# Friendly name -> (CelebA attribute, sign): CelebA has no age or gender field, so +1 age means
# older, i.e. less "Young"; +1 beard means less "No_Beard".
FRIENDLY_NAMES = {
    "age": ("Young", -1), "gender": ("Male", 1), "smile": ("Smiling", 1), "glasses": ("Eyeglasses", 1),
    "blond": ("Blond_Hair", 1), "black-hair": ("Black_Hair", 1), "brown-hair": ("Brown_Hair", 1),
    "grey-hair": ("Gray_Hair", 1), "beard": ("No_Beard", -1), "moustache": ("Mustache", 1),
    "bangs": ("Bangs", 1), "bald": ("Bald", 1), "wavy-hair": ("Wavy_Hair", 1), "makeup": ("Heavy_Makeup", 1),
    "lipstick": ("Wearing_Lipstick", 1), "mouth-open": ("Mouth_Slightly_Open", 1), "pale": ("Pale_Skin", 1),
    "chubby": ("Chubby", 1), "hat": ("Wearing_Hat", 1),
}
# The attributes `facegan directions` fits by default: those the friendly names use.
EDITABLE_ATTRIBUTES = tuple(dict.fromkeys(attr for attr, _ in FRIENDLY_NAMES.values()))


def friendly_help() -> str:
    """'age (-Young), gender (Male), ...' for --help."""
    return ", ".join(f"{name} ({'-' if sign < 0 else ''}{attr})" for name, (attr, sign) in FRIENDLY_NAMES.items())


def resolve_name(name: str) -> tuple[str, int]:
    """A friendly name (age, smile, ...), a CelebA attribute name or sefa-N -> (direction name, sign).

    >>> resolve_name("age"), resolve_name("Heavy_Makeup"), resolve_name("sefa-2")
    (('Young', -1), ('Heavy_Makeup', 1), ('sefa-2', 1))
    """
    if name in FRIENDLY_NAMES:
        return FRIENDLY_NAMES[name]
    if name in CELEBA_ATTRIBUTES or (name.startswith("sefa-") and name[5:].isdigit()):
        return name, 1
    raise FaceganError(f"unknown attribute {name!r}; use one of {', '.join(FRIENDLY_NAMES)}, a CelebA attribute "
                       "name (e.g. Heavy_Makeup) or sefa-N (facegan edit --help lists them)")


def parse_edits(text: str) -> dict[str, float]:
    """'age=+2,smile=-1' -> {'age': 2.0, 'smile': -1.0}, every name checked.

    >>> parse_edits("age=+2, smile=-1")
    {'age': 2.0, 'smile': -1.0}
    """
    edits = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = (part.strip() for part in item.partition("="))
        try:
            edits[name] = float(value)
        except ValueError:
            raise FaceganError(f"--edit takes name=strength pairs such as age=+2,smile=-1 (got {item!r})") from None
        resolve_name(name)
    if not edits:
        raise FaceganError("--edit needs at least one name=strength pair, such as age=+2")
    return edits


def parse_names(flag: str, text: str) -> list[str]:
    """'gender,smile' -> ['gender', 'smile'], every name checked."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise FaceganError(f"{flag} needs at least one attribute name, such as gender")
    for name in names:
        resolve_name(name)
    return names
