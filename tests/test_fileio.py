"""Atomic writes: the new file replaces the old one whole, with the permissions open() would give it."""
import os
import stat
import sys

import pytest

from facegan.fileio import atomic_path, write_text_atomic

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


@pytest.fixture
def umask():
    """Set the process umask for one test, then put the old one back."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@posix_only
@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)],
                         ids=["umask022", "umask077", "umask002"])
def test_new_files_respect_the_umask_like_open_does(mask, expected, tmp_path, umask):
    umask(mask)
    write_text_atomic(tmp_path / "config.json", "{}\n")
    with atomic_path(tmp_path / "sub" / "grid.png") as tmp:
        tmp.write_bytes(b"png")
    with open(tmp_path / "plain.txt", "w") as f:  # the reference: what a plain open() gives
        f.write("x")
    # generator exports and classifiers: safetensors' writer recreates the file as 0600 under any umask
    import torch
    from safetensors.torch import save_file

    with atomic_path(tmp_path / "weights.safetensors") as tmp:
        save_file({"w": torch.zeros(1)}, str(tmp))
    assert mode(tmp_path / "plain.txt") == expected
    assert mode(tmp_path / "config.json") == expected
    assert mode(tmp_path / "sub" / "grid.png") == expected
    assert mode(tmp_path / "weights.safetensors") == expected


@posix_only
def test_the_temporary_file_already_has_the_final_mode(tmp_path, umask):
    umask(0o022)
    with atomic_path(tmp_path / "out.bin") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".out.bin.") and tmp.suffix == ".bin"
        assert mode(tmp) == 0o644  # not mkstemp's 0600
        tmp.write_bytes(b"data")
    assert (tmp_path / "out.bin").read_bytes() == b"data"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_replacing_an_existing_file(tmp_path):
    target = tmp_path / "log.txt"
    write_text_atomic(target, "one")
    write_text_atomic(target, "two")
    assert target.read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.txt"]
