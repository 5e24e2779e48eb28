"""Read NVIDIA's network pickles (stylegan2-ada-pytorch, stylegan3) without running anything in them.

An official ``network-snapshot.pkl`` / ``ffhq.pkl`` is a plain pickle of
``dict(G, D, G_ema, augment_pipe, training_set_kwargs)``. Each network was reduced by NVIDIA's
``torch_utils.persistence`` to a call ``_reconstruct_persistent_obj(meta)`` with
``meta = {type, version, module_src, class_name, state}``; the real function runs
``exec(module_src)``, so opening the file with ``pickle.load`` runs whatever source the file
carries. Tensors come through ``torch._utils._rebuild_tensor_v2`` / ``_rebuild_parameter`` and
``torch.storage._load_from_bytes(blob)``, whose blob is a legacy ``torch.save`` of one storage.

:func:`load_network_pickle` reads such a file with :class:`SafeUnpickler`, whose ``find_class`` hands
out a short list of inert stand-ins and refuses every other global by name:

- the persistence call -> a :class:`PersistentRecord` keeping ``class_name`` and ``state``
  (``module_src`` is dropped unread);
- ``dnnlib.util.EasyDict`` -> a plain dict subclass; ``collections.OrderedDict``, ``set``;
- the torch rebuild calls -> checked rebuilds (a tensor must fit inside its storage), wrapped as
  :class:`LoadedTensor` so that no later opcode can re-point them, and the storage blob ->
  ``torch.load(weights_only=True)`` after its declared size is checked against its length;
- numeric numpy dtypes, scalars and arrays -> Python numbers / numpy arrays built from raw bytes
  (object dtypes are refused: their items are arbitrary pickled objects);
- protocol 2's ``_codecs.encode(text, 'latin1')`` (how it spells bytes) and ``bytes()``.

Before that, :func:`prescan` walks the opcodes with ``pickletools`` (nothing is built): a truncated
file, a length field larger than the file, a memo index far beyond the pickle's size (the C
unpickler would allocate it) or a persistent id is refused before any object is created.
"""
from __future__ import annotations

import collections
import io
import pickle
import pickletools
import struct
from pathlib import Path

import numpy as np
import torch

from facegan.errors import FaceganError, first_line

TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # first pickle of a legacy (non-zip) torch.save file
MAX_TENSOR_DIMS = 8


class Refused(FaceganError):
    """The file asked for something the safe reader does not hand out (one line saying what)."""


# ----------------------------------------------------------------------------- inert stand-ins
class PersistentRecord:
    """What NVIDIA's ``_reconstruct_persistent_obj(meta)`` becomes: the class name and the object's
    ``__dict__`` (``_parameters``, ``_buffers``, ``_modules``, ``_init_kwargs``, ...). No class is created."""

    __slots__ = ("class_name", "state", "version")

    def __init__(self, class_name: str, state: dict, version):
        self.class_name, self.state, self.version = class_name, state, version

    def __setstate__(self, state):
        raise Refused("the pickle tries to set the state of a network record by hand (not how NVIDIA's "
                      "persistence writes networks)")

    def __repr__(self) -> str:
        return f"PersistentRecord({self.class_name})"


def _reconstruct_persistent_obj(meta):
    if not isinstance(meta, dict) or not isinstance(meta.get("class_name"), str) \
            or not isinstance(meta.get("state"), dict) or meta.get("type") != "class":
        raise Refused("a persistent-object record is not of the form {type: 'class', class_name, state, "
                      "module_src} that NVIDIA's torch_utils.persistence writes")
    return PersistentRecord(meta["class_name"], meta["state"], meta.get("version"))


class EasyDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict`` (a dict with attribute access): the items only."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setstate__(self, state):
        if state:  # EasyDict keeps everything in its items; an instance __dict__ is not NVIDIA's format
            raise Refused("an EasyDict in the pickle carries instance attributes (not NVIDIA's format)")


class LoadedTensor:
    """A tensor read from the pickle, wrapped: a pickle may follow a call with a BUILD opcode, and a real
    tensor's ``__setstate__`` calls ``set_`` unchecked (which grows the storage to any declared size).
    This wrapper refuses any state; :func:`module_state_dict` unwraps the tensors it uses."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor

    def __setstate__(self, state):
        raise Refused("the pickle sets a tensor's state by hand after building it (not how torch pickles tensors)")


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                    metadata=None) -> LoadedTensor:
    """torch._utils._rebuild_tensor_v2 with checks: a view of ``storage`` (from :func:`_storage_from_bytes`)
    that must lie inside it (torch's ``set_`` does not check, and grows the storage instead), no backward hooks."""
    if not isinstance(storage, torch.storage.TypedStorage):
        raise Refused(f"a tensor's storage is a {type(storage).__name__}, not a torch storage")
    if backward_hooks:
        raise Refused("a tensor in the pickle carries backward hooks")
    if not (_int_tuple(size) and _int_tuple(stride) and len(size) == len(stride) <= MAX_TENSOR_DIMS
            and isinstance(storage_offset, int) and storage_offset >= 0):
        raise Refused(f"a tensor has a malformed shape/stride/offset ({size!r}, {stride!r}, {storage_offset!r})")
    untyped = storage._untyped_storage  # TypedStorage's public accessors warn about their deprecation
    check_inside_storage(untyped.nbytes() // torch.empty(0, dtype=storage.dtype).element_size(), storage_offset,
                         size, stride)
    return LoadedTensor(torch.empty(0, dtype=storage.dtype).set_(untyped, storage_offset, tuple(size), tuple(stride)))


def check_inside_storage(numel: int, offset: int, size: tuple, stride: tuple) -> None:
    """A view (offset, size, stride) must stay inside a storage of ``numel`` elements: torch's ``set_`` does
    not check, and reading such a view reads memory outside the storage."""
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else -1
    if last >= numel or offset < 0 or any(s < 0 for s in stride):
        raise Refused(f"a tensor of shape {tuple(size)} reaches element {last:,} of a storage of {numel:,} "
                      "elements (a corrupt or hostile size)")


def _int_tuple(value) -> bool:
    return isinstance(value, tuple) and all(isinstance(v, int) and v >= 0 for v in value)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None) -> LoadedTensor:
    """torch._utils._rebuild_parameter(_with_state): the tensor itself (a Parameter adds nothing here)."""
    if not isinstance(data, LoadedTensor):
        raise Refused(f"a parameter's data is a {type(data).__name__}, not a tensor")
    if backward_hooks:
        raise Refused("a parameter in the pickle carries backward hooks")
    return data


def _storage_from_bytes(blob) -> torch.storage.TypedStorage:
    """torch.storage._load_from_bytes: check the blob's declared storage size against its length,
    then decode it with ``torch.load(weights_only=True)`` (torch allocates the declared size first)."""
    if not isinstance(blob, (bytes, bytearray)):
        raise Refused(f"a storage record holds a {type(blob).__name__}, not bytes")
    check_legacy_torch_file(bytes(blob), "a tensor storage in the pickle")
    try:
        storage = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as e:  # weights_only refusals (UnpicklingError) and malformed records alike
        raise Refused(f"a tensor storage in the pickle is not a plain storage record ({type(e).__name__}: "
                      f"{first_line(e)})") from None
    if not isinstance(storage, torch.storage.TypedStorage):
        raise Refused(f"a storage record decodes to a {type(storage).__name__}, not a storage")
    return storage


def _latin1_bytes(text, encoding):
    """Protocol 2 writes a bytes object as _codecs.encode(str, 'latin1')."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise Refused("the pickle calls _codecs.encode with something other than (text, 'latin1')")
    return text.encode("latin-1")


def _empty_bytes(*args):
    """Protocol 2 writes b'' as bytes()."""
    if args:
        raise Refused("the pickle calls bytes() with arguments")
    return b""


NUMERIC_DTYPES = frozenset({"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"})


class NumpyDType:
    """Stand-in for a numeric ``numpy.dtype``: pickled as dtype('f8', False, True) + a state tuple
    (version, byte order, subarray, names, fields, ...). Anything but a plain number type is refused."""

    def __init__(self, spec, align=False, copy=False):
        if not isinstance(spec, str) or spec not in NUMERIC_DTYPES:
            kind = "object (its items are arbitrary pickled Python objects)" if spec in ("O4", "O8") else repr(spec)
            raise Refused(f"the pickle holds a numpy array or scalar of dtype {kind}; facegan reads numeric "
                          f"numpy values only")
        self.np = np.dtype(spec)

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) >= 5 and state[1] in ("<", ">", "|", "=")
                and state[2] is None and state[3] is None and state[4] is None):
            raise Refused("the pickle holds a structured or sub-array numpy dtype; facegan reads plain numbers only")
        self.np = self.np.newbyteorder(state[1]) if state[1] in "<>" else self.np


def _numpy_scalar(dtype, data=None):
    """numpy.core.multiarray.scalar(dtype, raw bytes) -> the Python number."""
    if not isinstance(dtype, NumpyDType) or not isinstance(data, bytes) or len(data) != dtype.np.itemsize:
        raise Refused("a numpy scalar in the pickle is not a plain number")
    return np.frombuffer(data, dtype=dtype.np)[0].item()


class NumpyArray:
    """Stand-in for numpy's ndarray reconstruction (_reconstruct(ndarray, (0,), b'b') + state
    (version, shape, dtype, fortran, raw bytes)); ``.array`` is a numeric numpy array."""

    def __init__(self):
        self.array = None

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5 and isinstance(state[2], NumpyDType)):
            raise Refused("a numpy array in the pickle has a malformed state")
        _, shape, dtype, fortran, raw = state
        if not _int_tuple(shape) or len(shape) > MAX_TENSOR_DIMS or not isinstance(raw, bytes):
            raise Refused("a numpy array in the pickle is not a plain numeric array")
        count = int(np.prod(shape, dtype=np.int64))
        if len(raw) != count * dtype.np.itemsize:
            raise Refused(f"a numpy array of shape {shape} holds {len(raw):,} bytes instead of "
                          f"{count * dtype.np.itemsize:,}")
        self.array = np.frombuffer(raw, dtype=dtype.np).reshape(shape, order="F" if fortran else "C").copy()


def _numpy_reconstruct(subtype, shape, typecode):
    if subtype is not NumpyArray or shape != (0,) or typecode not in (b"b", "b"):
        raise Refused("the pickle reconstructs a numpy array subclass; facegan reads plain numeric arrays only")
    return NumpyArray()


def _numpy_frombuffer(buffer, dtype, shape, order):
    """numpy._core.numeric._frombuffer: how protocol 5 writes an array (its bytes in-band)."""
    array = NumpyArray()
    array.__setstate__((1, shape, dtype, order == "F", bytes(buffer) if isinstance(buffer, bytearray) else buffer))
    return array.array


ALLOWED = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("dnnlib", "EasyDict"): EasyDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _storage_from_bytes,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set, ("__builtin__", "set"): set,
    ("builtins", "bytes"): _empty_bytes, ("__builtin__", "bytes"): _empty_bytes,
    ("_codecs", "encode"): _latin1_bytes,
    ("numpy", "dtype"): NumpyDType,
    ("numpy", "ndarray"): NumpyArray,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar, ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _numpy_frombuffer, ("numpy._core.numeric", "_frombuffer"): _numpy_frombuffer,
}


def refusal_for_global(module: str, name: str) -> str:
    """The one line for a global outside the allow-list, naming what the file probably is."""
    if module.startswith("dnnlib.tflib"):
        return (f"it is a TensorFlow-era StyleGAN pickle ({module}.{name}); facegan reads the PyTorch pickles of "
                "stylegan2-ada-pytorch / stylegan3 (NVIDIA's legacy.py converts old ones; it needs their code)")
    if module.startswith("torch.nn") or module.startswith("torch.optim"):
        return (f"it holds pickled PyTorch objects ({module}.{name}): not an official network pickle, which "
                "stores networks as NVIDIA persistence records; facegan reads those and rosinality checkpoints")
    return (f"it asks for the Python global {module}.{name}, which is not on facegan's allow-list (an official "
            "network pickle needs only tensors, containers and NVIDIA's persistence records); nothing from the "
            "file was run")


class SafeUnpickler(pickle.Unpickler):
    """pickle.Unpickler that hands out :data:`ALLOWED` stand-ins and refuses everything else."""

    def find_class(self, module, name):
        found = ALLOWED.get((module, name))
        if found is None:
            raise Refused(refusal_for_global(module, name))
        return found

    def persistent_load(self, pid):
        raise Refused("it uses persistent ids (a torch.save file, not a plain network pickle)")


# ----------------------------------------------------------------------------- structural checks
def prescan(data: bytes, what: str, start: int = 0, persistent_ids: bool = False) -> int:
    """Walk one pickle's opcodes from ``start`` without building anything; returns the offset after its
    STOP. Refuses a truncated pickle, length fields beyond the data, memo indices no pickler writes (the
    C unpickler allocates memo slots up to the index), out-of-band buffers and, unless allowed,
    persistent ids."""
    stream = io.BytesIO(data)
    stream.seek(start)
    ops = 0
    try:
        for op, arg, _ in pickletools.genops(stream):
            ops += 1
            if op.name in ("PUT", "BINPUT", "LONG_BINPUT") and int(arg) > ops:
                raise Refused(f"{what} has a memo index ({arg}) no pickler writes (corrupt or hostile)")
            if op.name == "FRAME" and arg > len(data) - stream.tell():
                raise Refused(f"{what} is truncated: a frame declares {arg:,} bytes, "
                              f"{len(data) - stream.tell():,} remain")
            if op.name in ("PERSID", "BINPERSID") and not persistent_ids:
                raise Refused(f"{what} uses persistent ids (a torch.save file, not a plain network pickle)")
            if op.name in ("NEXT_BUFFER", "READONLY_BUFFER"):
                raise Refused(f"{what} needs out-of-band buffers (pickle protocol 5), which a file cannot carry")
    except ValueError as e:  # pickletools: short reads ("expected N bytes ... only M remain"), bad opcodes
        raise Refused(f"{what} is truncated or not a pickle ({first_line(e)})") from None
    return stream.tell()


class _Inert:
    """Whatever a legacy torch file's object pickle names besides storage types (tensor rebuilds, dicts of
    the checkpoint, ...) while only its storage ids are being collected: accepts and ignores everything."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass


class _StorageHeaderUnpickler(pickle.Unpickler):
    """Reads the pickles at the head of a legacy torch.save file to collect its storage ids: storage type
    names become their dtypes, every other global the inert :class:`_Inert` (nothing real is built and
    nothing named is called; torch.load(weights_only=True) decodes the file afterwards)."""

    STORAGES = {f"{n}Storage": d for n, d in [
        ("Float", torch.float32), ("Double", torch.float64), ("Half", torch.float16), ("BFloat16", torch.bfloat16),
        ("Long", torch.int64), ("Int", torch.int32), ("Short", torch.int16), ("Char", torch.int8),
        ("Byte", torch.uint8), ("Bool", torch.bool)]}

    def __init__(self, stream, pids: list):
        super().__init__(stream)
        self.pids = pids

    def find_class(self, module, name):
        return self.STORAGES[name] if module == "torch" and name in self.STORAGES else _Inert

    def persistent_load(self, pid):
        self.pids.append(pid)
        return None


def check_legacy_torch_file(data: bytes, what: str) -> None:
    """A legacy (non-zip) ``torch.save`` file is five pickles (magic number, protocol, system info, the
    object with storages as persistent ids ('storage', type, key, location, numel, view), the storage
    keys), then per storage an 8-byte element count and the elements. torch allocates each declared
    size before reading it: refuse a file whose declared sizes are not the bytes it holds."""
    stream, pids, header = io.BytesIO(data), [], []
    for _ in range(5):
        if stream.tell() >= len(data):
            raise Refused(f"{what} is truncated (its torch record ends early)")
        prescan(data, what, stream.tell(), persistent_ids=True)
        try:
            header.append(_StorageHeaderUnpickler(stream, pids).load())
        except Refused:
            raise
        except Exception as e:
            raise Refused(f"{what} is not a torch storage record ({type(e).__name__}: {first_line(e)})") from None
    magic, _protocol, _sys_info, _obj, keys = header
    if magic != TORCH_LEGACY_MAGIC:
        raise Refused(f"{what} is not a torch storage record (wrong magic number)")
    numels = {}  # storage key -> (element count, bytes per element)
    for pid in pids:
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage" and isinstance(pid[1], torch.dtype)
                and isinstance(pid[4], int) and pid[4] >= 0):
            raise Refused(f"{what} has a malformed storage id")
        if pid[5] is not None:
            raise Refused(f"{what} uses storage views (torch before 1.0), which facegan does not read")
        numels[pid[2]] = (pid[4], torch.empty(0, dtype=pid[1]).element_size())
    if not isinstance(keys, list) or sorted(map(str, keys)) != sorted(map(str, numels)):
        raise Refused(f"{what} lists storages it does not define")
    declared = sum(numel * size for numel, size in numels.values())
    held = len(data) - stream.tell() - 8 * len(keys)
    if declared != held:
        raise Refused(f"{what} declares {declared:,} bytes of tensor data but holds {max(held, 0):,} "
                      "(truncated, corrupt or hostile)")
    offset = stream.tell()
    for key in keys:  # each block starts with its own element count, which must match its id
        (count,) = struct.unpack("<q", data[offset:offset + 8])
        numel, size = numels[key]
        if count != numel:
            raise Refused(f"{what} has a storage block of {count:,} elements where its id declares {numel:,}")
        offset += 8 + numel * size


# ----------------------------------------------------------------------------- entry points
def sniff(data: bytes) -> str:
    """'pickle', 'zip' (torch.save since 1.6), 'torch-legacy' (older torch.save) or 'unknown'."""
    if data[:4] == b"PK\x03\x04":
        return "zip"
    if data[:2] == b"\x80\x02" and data[2:3] == b"\x8a":  # protocol 2, then LONG1: the legacy magic number
        return "torch-legacy"
    if data[:1] == b"\x80" or data[:1] in (b"(", b"}", b"]", b"c"):
        return "pickle"
    return "unknown"


def load_network_pickle(path: str | Path):
    """The object in an official network pickle, with networks as :class:`PersistentRecord`s and tensors
    as :class:`LoadedTensor`s (:func:`module_state_dict` gives a network's tensors); anything else is
    refused with one :class:`FaceganError` line. Never runs the file's code."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FaceganError(f"{path} not found") from None
    except OSError as e:
        raise FaceganError(f"cannot read {path}: {e.strerror or e}") from None
    kind = sniff(data)
    if kind == "zip":
        raise FaceganError(f"{path} is a torch.save archive (zip), not an official network pickle; "
                           "for a rosinality checkpoint use: facegan import rosinality")
    if kind == "torch-legacy":
        raise FaceganError(f"{path} is a legacy torch.save file, not an official network pickle; "
                           "for a rosinality checkpoint use: facegan import rosinality")
    if kind == "unknown":
        raise FaceganError(f"{path} is not a pickle (it starts with {data[:8]!r}); facegan imports NVIDIA's "
                           "stylegan2-ada-pytorch / stylegan3 network pickles (.pkl)")
    try:
        end = prescan(data, "the file")
        if end != len(data):
            raise Refused(f"the file has {len(data) - end:,} bytes after the end of its pickle (corrupt, or not "
                          "a network pickle)")
        return SafeUnpickler(io.BytesIO(data)).load()
    except Refused as e:
        raise FaceganError(f"refused to load {path}: {e}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            MemoryError, RecursionError, OverflowError, RuntimeError) as e:
        raise FaceganError(f"{path} is not a readable network pickle (truncated or corrupt?): "
                           f"{type(e).__name__}: {first_line(e)}") from None


def module_state_dict(record: PersistentRecord, what: str = "the network") -> dict[str, torch.Tensor]:
    """Parameters and persistent buffers of a persistent module and its submodules, named as
    ``nn.Module.state_dict`` names them ('mapping.fc0.weight', ...)."""
    out: dict[str, torch.Tensor] = {}

    def walk(rec, prefix: str, depth: int) -> None:
        if depth > 64:
            raise FaceganError(f"{what} nests modules more than 64 deep (corrupt or hostile)")
        state = rec.state
        skip = state.get("_non_persistent_buffers_set") or set()
        for group in ("_parameters", "_buffers", "_modules", "_non_persistent_buffers_set"):
            value = state.get(group)
            if value is not None and not isinstance(value, (set, frozenset) if group.endswith("_set") else dict):
                raise FaceganError(f"{what}: {prefix}{group} is a {type(value).__name__} (corrupt or hostile)")
        for group in ("_parameters", "_buffers"):
            entries = state.get(group) or {}
            for name, value in entries.items():
                if value is None or (group == "_buffers" and name in skip):
                    continue
                if not isinstance(name, str) or not isinstance(value, LoadedTensor):
                    raise FaceganError(f"{what}: {prefix}{name} is a {type(value).__name__}, not a tensor")
                out[prefix + name] = value.tensor
        children = state.get("_modules") or {}
        for name, child in children.items():
            if child is None:
                continue
            if not isinstance(child, PersistentRecord) or not isinstance(name, str):
                raise FaceganError(f"{what}: submodule {prefix}{name} is a {type(child).__name__}, not a "
                                   "persistent network record")
            walk(child, f"{prefix}{name}.", depth + 1)

    walk(record, "", 0)
    return out
