"""Peer code for lab 07 (marshaling): Python's protobuf (Debian's
python3-protobuf) as the reference codec.

compile_proto(path) runs `protoc --python_out` on a .proto file into a
temporary directory and imports the module it wrote (once per process and
file: protobuf's descriptor pool refuses a second file of the same name).
random_message(cls, rng) fills every field of a message class with values
that reach each type's limits; protoc_decode / protoc_decode_raw run protoc
on bytes, as a student would by hand.
"""
import importlib.util
import math
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor

_modules: dict[Path, object] = {}
_tmp = tempfile.TemporaryDirectory(prefix="netgrader-proto-")
FD = descriptor.FieldDescriptor

INT_LIMITS = {
    FD.TYPE_INT32: (-2**31, 2**31 - 1), FD.TYPE_SINT32: (-2**31, 2**31 - 1),
    FD.TYPE_SFIXED32: (-2**31, 2**31 - 1), FD.TYPE_INT64: (-2**63, 2**63 - 1),
    FD.TYPE_SINT64: (-2**63, 2**63 - 1), FD.TYPE_SFIXED64: (-2**63, 2**63 - 1),
    FD.TYPE_UINT32: (0, 2**32 - 1), FD.TYPE_FIXED32: (0, 2**32 - 1),
    FD.TYPE_UINT64: (0, 2**64 - 1), FD.TYPE_FIXED64: (0, 2**64 - 1),
}


def compile_proto(proto) -> object:
    """The module protoc --python_out writes for proto (a path)."""
    proto = Path(proto).resolve()
    if proto in _modules:
        return _modules[proto]
    out = Path(_tmp.name) / f"m{len(_modules)}"
    out.mkdir()
    subprocess.run(["protoc", f"-I{proto.parent}", f"--python_out={out}", proto.name],
                   check=True, capture_output=True, timeout=60)
    name = proto.stem + "_pb2"
    spec = importlib.util.spec_from_file_location(name, out / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    _modules[proto] = module
    return module


def _scalar(field, rng: random.Random):
    t = field.type
    if t in INT_LIMITS:
        lo, hi = INT_LIMITS[t]
        return rng.choice([lo, hi, 0, 1, -1 if lo < 0 else 2, rng.randint(lo, hi),
                           rng.randint(max(lo, -1000), min(hi, 1000))])
    if t == FD.TYPE_BOOL:
        return rng.random() < 0.5
    if t == FD.TYPE_ENUM:
        return rng.choice([v.number for v in field.enum_type.values] + [7, -3])
    if t == FD.TYPE_FLOAT:
        return rng.choice([0.0, -0.5, 1.5, 3.4028234663852886e38, 1.401298464324817e-45,
                           float(rng.randint(-10**6, 10**6)) / 4])
    if t == FD.TYPE_DOUBLE:
        return rng.choice([0.0, -2.5, 1e308, 5e-324, math.pi, rng.uniform(-1e9, 1e9)])
    if t == FD.TYPE_STRING:
        return "".join(rng.choice("ab\u00e9\u20ac\U0001f600 ") for _ in range(rng.randint(0, 20)))
    if t == FD.TYPE_BYTES:
        return bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 5, 200])))
    raise ValueError(f"unsupported field type {t}")


def random_message(cls, rng: random.Random, depth: int = 0, fill: float = 0.8):
    """An instance of cls with about `fill` of its fields set; sub-messages to depth 3."""
    msg = cls()
    for field in cls.DESCRIPTOR.fields:
        if rng.random() > fill:
            continue
        sub = field.type == FD.TYPE_MESSAGE
        if sub and depth >= 3:
            continue
        if field.label == FD.LABEL_REPEATED:
            for _ in range(rng.choice([1, 2, 5, 40])):
                if sub:
                    getattr(msg, field.name).add().CopyFrom(
                        random_message(field.message_type._concrete_class, rng, depth + 1, 0.5))
                else:
                    getattr(msg, field.name).append(_scalar(field, rng))
        elif sub:
            getattr(msg, field.name).CopyFrom(
                random_message(field.message_type._concrete_class, rng, depth + 1, 0.5))
        else:
            setattr(msg, field.name, _scalar(field, rng))
    return msg


def protoc_decode(proto, message: str, data: bytes) -> str:
    """`protoc --decode=MESSAGE` of data: the text format, as protoc prints it."""
    proto = Path(proto).resolve()
    done = subprocess.run(["protoc", f"-I{proto.parent}", f"--decode={message}", proto.name],
                          input=data, capture_output=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"protoc --decode={message} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode()


def protoc_encode(proto, message: str, text: str) -> bytes:
    """`protoc --encode=MESSAGE` of text."""
    proto = Path(proto).resolve()
    done = subprocess.run(["protoc", f"-I{proto.parent}", f"--encode={message}", proto.name],
                          input=text.encode(), capture_output=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"protoc --encode={message} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


def protoc_decode_raw(data: bytes) -> str:
    """`protoc --decode_raw` of data (field numbers and raw values)."""
    done = subprocess.run(["protoc", "--decode_raw"], input=data, capture_output=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"protoc --decode_raw failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode()
