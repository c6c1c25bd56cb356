"""Witness generation: circuit inputs (Python values) to a .wtns file via circom's wasm calculator.

Inputs are mappings from signal name to an int or a (nested) list of ints; they are written as
decimal strings because JSON numbers lose precision above 2^53.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from statesync.errors import ToolError, ZkStateSyncError
from statesync.field import to_field

from .build import CompiledCircuit
from .formats import read_wtns
from .toolchain import js_script, run_node

InputValue = Union[int, Sequence["InputValue"]]  # noqa: UP007 (a recursive alias needs Union on 3.11)
CircuitInputs = Mapping[str, InputValue]

_ASSERT = re.compile(r"Error in template (\S+) line: (\d+)")


class WitnessError(ZkStateSyncError):
    """The inputs do not satisfy the circuit (an assert or === failed) or do not fit its signals."""

    def __init__(self, message: str, *, template: str | None = None, line: int | None = None) -> None:
        self.template = template
        self.line = line
        super().__init__(message)

    @property
    def is_constraint_failure(self) -> bool:
        # A failed assert/=== names its template and line; input-shape errors do not.
        return self.template is not None


@dataclass(frozen=True)
class Witness:
    values: tuple[int, ...]
    path: Path | None  # the .wtns file, kept only when the caller gave a work directory


def encode_inputs(inputs: CircuitInputs) -> dict[str, object]:
    """JSON-ready inputs; every value must be a canonical field element (FieldError otherwise)."""

    def encode(name: str, value: InputValue) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            # circom's calculator reduces inputs mod r silently; x + r must not pass as x.
            return str(to_field(value, f"circuit input {name}"))
        if isinstance(value, Sequence) and not isinstance(value, str | bytes):
            return [encode(f"{name}[{i}]", v) for i, v in enumerate(value)]
        raise WitnessError(f"circuit input {name} must be an int or a list of ints, got {value!r}")

    return {name: encode(name, value) for name, value in inputs.items()}


def parse_witness_failure(name: str, message: str) -> WitnessError:
    """The typed error for the witness calculator's message (a failed assert names its template and line)."""
    match = _ASSERT.search(message)
    if match:
        template, line = match.group(1), int(match.group(2))
        # circom names instances Template_<n>; users know the template and the source line.
        base = template.rsplit("_", 1)[0]
        return WitnessError(
            f"inputs do not satisfy {name}: assert failed in template {base}, line {line}",
            template=base,
            line=line,
        )
    return WitnessError(f"inputs do not fit {name}: {message.strip()}")


def compute_witnesses(
    circuit: CompiledCircuit, batch: Sequence[CircuitInputs], workdir: Path | None = None
) -> list[Witness | WitnessError]:
    """Compute one witness per input mapping in a single node process; failures are returned.

    With a work directory, the inputs and .wtns files stay there (the prover reads them);
    without one, they live in a temporary directory removed before returning, on every path.
    """
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
        return _compute_witnesses(circuit, batch, Path(workdir), keep=True)
    with tempfile.TemporaryDirectory(prefix="zkss-wtns-") as work:
        return _compute_witnesses(circuit, batch, Path(work), keep=False)


def _compute_witnesses(
    circuit: CompiledCircuit, batch: Sequence[CircuitInputs], work: Path, *, keep: bool
) -> list[Witness | WitnessError]:
    jobs = []
    for i, inputs in enumerate(batch):
        input_path = work / f"input-{i}.json"
        input_path.write_text(json.dumps(encode_inputs(inputs)))
        jobs.append({"input": str(input_path), "output": str(work / f"witness-{i}.wtns")})
    script = js_script("witness.js")
    try:
        out = run_node(script, [circuit.wasm.parent], input_text=json.dumps(jobs)).stdout
    except ToolError as exc:
        raise ToolError(f"witness calculator for {circuit.spec.name} crashed", exc.argv, exc.stderr) from exc
    results = [json.loads(line.split(" ", 1)[1]) for line in out.splitlines() if line.startswith("@@witness ")]
    if len(results) != len(jobs):
        raise ToolError(f"witness calculator answered {len(results)} of {len(jobs)} jobs", [], out)
    answers: list[Witness | WitnessError] = []
    for job, result in zip(jobs, results, strict=True):
        if result["ok"]:
            path = Path(job["output"])
            answers.append(Witness(tuple(read_wtns(path)), path if keep else None))
        else:
            answers.append(parse_witness_failure(circuit.spec.name, str(result["error"])))
    return answers


def compute_witness(circuit: CompiledCircuit, inputs: CircuitInputs, workdir: Path | None = None) -> Witness:
    """Compute the witness for inputs, raising WitnessError if they do not satisfy the circuit."""
    (answer,) = compute_witnesses(circuit, [inputs], workdir)
    if isinstance(answer, WitnessError):
        raise answer
    return answer


def decode_inputs(document: object, source: str = "inputs") -> dict[str, InputValue]:
    """Circuit inputs from parsed JSON (decimal strings or ints, nested lists), as encode_inputs writes."""

    def decode(name: str, value: object) -> InputValue:
        if isinstance(value, bool):
            raise WitnessError(f"{source}: {name} must be a number, got {value!r}")
        if isinstance(value, int):
            return to_field(value, f"{source}: {name}")
        if isinstance(value, str):
            if not value.isdigit() or (len(value) > 1 and value[0] == "0"):
                raise WitnessError(f"{source}: {name} must be a canonical decimal string, got {value!r}")
            return to_field(int(value), f"{source}: {name}")
        if isinstance(value, list):
            return [decode(f"{name}[{i}]", v) for i, v in enumerate(value)]
        raise WitnessError(f"{source}: {name} must be a number or a list, got {type(value).__name__}")

    if not isinstance(document, dict):
        raise WitnessError(f"{source}: expected a JSON object of signal names")
    return {str(name): decode(str(name), value) for name, value in document.items()}


def load_inputs(path: Path) -> dict[str, InputValue]:
    try:
        document = json.loads(Path(path).read_text())
    except OSError as exc:
        raise WitnessError(f"cannot read inputs {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise WitnessError(f"{path} is not valid JSON: {exc}") from exc
    return decode_inputs(document, str(path))
