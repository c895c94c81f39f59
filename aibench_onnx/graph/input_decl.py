"""The input grammar shared by framework models and ONNX files: `--input NAME:DTYPE[dims]` with an optional
value range `@LOW..HIGH` or a fixed value `=V`, and `--dim NAME=SIZE` for any dimension name.

Names are what exporters write: `input:0` (tf2onnx), `input.1` (TorchScript), `p2o.DynamicDimension.0`
(paddle2onnx), `unk__579` (tf2onnx); an unnamed dim of a file is named by its input and axis, `images[2]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from aibench_onnx.errors import UserError

# NAME is everything before the last ":DTYPE[" (input names may hold colons, as tf2onnx's `x:0` do)
_INPUT = re.compile(r"^(?P<name>.+?):(?P<dtype>[a-z0-9]+)\[(?P<dims>[^\]]*)\]"
                    r"(?:@(?P<low>[-+\d.eE]+)\.\.(?P<high>[-+\d.eE]+))?(?:=(?P<value>[^=@]+))?$")
_DIM_NAME = re.compile(r"^[A-Za-z_][\w.:\-/]*(\[\d+\])?$")
DTYPES = ("bool", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
          "uint32", "uint64")


@dataclass
class InputDecl:
    name: str
    dtype: str
    dims: list  # ints, or symbolic names
    low: float | None = None  # NAME:DTYPE[dims]@LOW..HIGH: values drawn from [LOW, HIGH] (integers: inclusive)
    high: float | None = None
    value: float | None = None  # NAME:DTYPE[dims]=V: every element V (a scalar that selects a branch: sr=16000)

    @property
    def text(self) -> str:
        """The declaration as it would be written on the command line."""
        dims = ",".join(str(d) for d in self.dims)
        suffix = (f"@{self.low:g}..{self.high:g}" if self.low is not None else "") + (
            f"={self.value:g}" if self.value is not None else "")
        return f"{self.name}:{self.dtype}[{dims}]{suffix}"


def parse_input(text: str) -> InputDecl:
    match = _INPUT.match(text.strip())
    if not match:
        raise UserError(f"--input {text!r}: expected NAME:DTYPE[d1,d2,...] with an optional value range "
                        "@LOW..HIGH or a fixed value =V, e.g. x:float32[batch,16], input_ids:int64[batch,seq]@0..30521 "
                        "or sr:int64[]=16000")
    dtype = match["dtype"]
    if dtype not in DTYPES:
        raise UserError(f"--input {text!r}: unknown dtype {dtype!r}; valid: {', '.join(DTYPES)}")
    dims = []
    for part in (p.strip() for p in match["dims"].split(",") if p.strip()):
        if part.isdigit():
            dims.append(int(part))
        elif _DIM_NAME.match(part):
            dims.append(part)
        else:
            raise UserError(f"--input {text!r}: dimension {part!r} is neither a size nor a name")
    low = high = value = None
    if match["low"] is not None and match["value"] is not None:
        raise UserError(f"--input {text!r}: give a value range @LOW..HIGH or a fixed value =V, not both")
    if match["low"] is not None:
        low, high = _number(match["low"], text), _number(match["high"], text)
        if low > high:
            raise UserError(f"--input {text!r}: the range @{match['low']}..{match['high']} is empty")
        for bound in (low, high):
            check_fits(bound, dtype, f"--input {text!r}")
    if match["value"] is not None:
        value = _number(match["value"], text)
        check_fits(value, dtype, f"--input {text!r}")
    return InputDecl(match["name"], dtype, dims, low, high, value)


def _number(raw: str, text: str) -> float:
    raw = {"true": "1", "false": "0"}.get(raw.strip().lower(), raw.strip())
    try:
        return float(raw)
    except ValueError:
        raise UserError(f"--input {text!r}: {raw!r} is not a number") from None


def check_fits(value: float, dtype: str, where: str) -> None:
    """A value the dtype cannot hold exactly (1.5 as int64, 300 as uint8, 1e6 as float16) is one line."""
    kind = np.dtype(dtype)
    if kind == np.bool_:
        if value not in (0.0, 1.0):
            raise UserError(f"{where}: {value:g} is not a bool value (0, 1, true or false)")
    elif kind.kind in "iu":
        info = np.iinfo(kind)
        if value != int(value) or not info.min <= value <= info.max:
            raise UserError(f"{where}: {value:g} does not fit {dtype} (integers {info.min}..{info.max})")
    else:
        with np.errstate(over="ignore"):
            finite = np.isfinite(np.array(value, dtype=kind))
        if not finite:
            raise UserError(f"{where}: {value:g} overflows {dtype}")


def parse_dim_sweeps(values: list[str] | None) -> dict[str, list[int]]:
    """NAME=SIZE or NAME=S1,S2,... (a sweep: bench times every size). NAME is any dimension name a graph
    declares (dots and colons included) or an unnamed dim as INPUT[AXIS]; the size follows the last '='."""
    dims = {}
    for text in values or []:
        name, _, sizes = text.rpartition("=")
        parts = [p.strip() for p in sizes.split(",") if p.strip()]
        if not name.strip() or " " in name.strip() or not parts or not all(p.isdigit() and int(p) >= 1 for p in parts):
            raise UserError(f"--dim {text!r}: expected NAME=SIZE or NAME=SIZE1,SIZE2,... with positive sizes "
                            "(NAME as the graph declares it, e.g. batch, p2o.DynamicDimension.0, or images[2] for "
                            "an unnamed one)")
        dims[name.strip()] = [int(p) for p in parts]
    return dims


def single_dims(sweeps: dict[str, list[int]], command: str) -> dict[str, int]:
    for name, sizes in sweeps.items():
        if len(sizes) > 1:
            raise UserError(f"--dim {name}: {command} takes one size per dimension (bench sweeps several)")
    return {name: sizes[0] for name, sizes in sweeps.items()}
