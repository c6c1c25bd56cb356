"""Poseidon over the BN254 scalar field, bit-for-bit as circomlib's Poseidon(n) and circomlibjs.

Parameters: S-box x^5, 8 full rounds, partial rounds per width t = n + 1 from N_ROUNDS_P, the
capacity element first and initialised to 0, output state[0].

The constants are not copied from circomlibjs: they are re-derived from the specification.
Round constants and the Cauchy MDS matrix come from the Grain LFSR procedure of the Poseidon
authors' reference script (generate_parameters_grain.sage, run by circomlib as
`1 0 254 t 8 R_P r`); the sparse-matrix form that makes partial rounds cheap is then derived
over GF(r) with galois, following circomlibjs's tools/poseidon_optimize_constants.js (itself
from filecoin's neptune). Tests prove both sets equal circomlibjs's JSON files.

Three implementations share the constants:
- `poseidon`: the fast one (sparse partial rounds, lazy reduction, unrolled for two inputs),
  computing with gmpy2's integers when gmpy2 is installed (about 2.5 times faster than
  Python's own ints, whose 254-bit multiply-and-reduce costs ~0.4 us) and plain ints if not;
- `poseidon_reference`: the textbook permutation with plain ints, full MDS every round;
- `poseidon_galois`: the textbook permutation in galois GF(r) arithmetic, an independent check.
"""

from __future__ import annotations

import functools
import importlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from statesync.errors import ArityError, FieldError, ToolError
from statesync.field import R_MULTIPLICATIVE_GENERATOR, R, to_field

if TYPE_CHECKING:
    import galois

N_ROUNDS_F: Final = 8
# Index t - 2: the whitepaper's recommended counts rounded up, as circomlib uses them.
N_ROUNDS_P: Final = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)
MAX_INPUTS: Final = len(N_ROUNDS_P)

_FIELD_BITS: Final = 254
_HALF_F: Final = N_ROUNDS_F // 2

Matrix = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class PoseidonConstants:
    """The specification's constants for one width t: what generate_parameters_grain prints.

    round_constants[r * t + i] is added to state[i] in round r; a round ends with
    state[i] = sum_j mds[i][j] * state[j].
    """

    width: int
    round_constants: tuple[int, ...]
    mds: Matrix


@dataclass(frozen=True)
class OptimizedConstants:
    """Constants for the sparse-partial-round permutation, in circomlibjs's layout.

    Matrices are indexed [j][i] for the contribution of state[j] to the new state[i], as in
    poseidon_constants_opt.json: m is the transposed MDS, p the dense matrix that precedes the
    partial rounds, and s holds 2t - 1 entries per partial round (the sparse matrices).
    """

    width: int
    c: tuple[int, ...]
    s: tuple[int, ...]
    m: Matrix
    p: Matrix


# -- Constant generation: the Grain LFSR of the reference script --------------------------------


def _grain_raw_bits(seed: str) -> Iterator[str]:
    # The LFSR b[k+80] = b[k+62] ^ b[k+51] ^ b[k+38] ^ b[k+23] ^ b[k+13] ^ b[k] has its nearest
    # tap 18 positions back, so 18 new bits come out of one round of integer shifts (bit j of
    # `state` holds b[n + j]); a bit-at-a-time list takes seconds for the wider permutations.
    state = int(seed[::-1], 2)
    while True:
        taps = state ^ state >> 13 ^ state >> 23 ^ state >> 38 ^ state >> 51 ^ state >> 62
        new = taps & 0x3FFFF
        state = state >> 18 | new << 62
        yield f"{new:018b}"[::-1]


def _grain_output_bits(width: int, partial_rounds: int) -> Iterator[str]:
    # Seed: field type 1 (prime), S-box code 0, field size, t, R_F, R_P, then thirty ones.
    seed = f"{1:02b}{0:04b}{_FIELD_BITS:012b}{width:012b}{N_ROUNDS_F:010b}{partial_rounds:010b}{'1' * 30}"
    raw = _grain_raw_bits(seed)
    pending = "".join(next(raw) for _ in range(9))[160:]  # 162 bits made, 160 discarded
    while True:
        pending += "".join(next(raw) for _ in range(64))
        usable = len(pending) - len(pending) % 2
        pairs, pending = pending[:usable], pending[usable:]
        # Self-shrinking: in each bit pair, a leading 1 emits the second bit, a leading 0 drops it.
        yield "".join(b for a, b in zip(pairs[0::2], pairs[1::2], strict=True) if a == "1")


def _grain_integers(width: int, partial_rounds: int) -> Iterator[int]:
    buffer = ""
    for chunk in _grain_output_bits(width, partial_rounds):
        buffer += chunk
        while len(buffer) >= _FIELD_BITS:
            yield int(buffer[:_FIELD_BITS], 2)
            buffer = buffer[_FIELD_BITS:]


def _check_width(width: int) -> None:
    if not isinstance(width, int) or not 2 <= width <= MAX_INPUTS + 1:
        raise ArityError(f"Poseidon width must be 2..{MAX_INPUTS + 1}, got {width!r}")


@functools.cache
def generate_constants(width: int) -> PoseidonConstants:
    """Derive round constants and MDS matrix for width t as generate_parameters_grain does.

    Later versions of the reference script also test the MDS candidate for invariant
    subspaces and draw again if it fails; circomlib's matrices are the first candidates for
    every width (the test against circomlibjs shows it), so those tests are not repeated here.
    """
    _check_width(width)
    partial_rounds = N_ROUNDS_P[width - 2]
    draws = _grain_integers(width, partial_rounds)
    count = (N_ROUNDS_F + partial_rounds) * width
    # Rejection sampling, not reduction, keeps the round constants uniform in GF(r).
    round_constants = tuple(itertools.islice((x for x in draws if x < R), count))
    return PoseidonConstants(width=width, round_constants=round_constants, mds=_cauchy_mds(width, draws))


def _cauchy_mds(width: int, draws: Iterator[int]) -> Matrix:
    while True:
        # The script reduces these draws mod r (F(...)) instead of rejecting them.
        points = [next(draws) % R for _ in range(2 * width)]
        if len(set(points)) != len(points):
            continue
        xs, ys = points[:width], points[width:]
        if any((x + y) % R == 0 for x in xs for y in ys):
            continue
        return tuple(tuple(pow(x + y, -1, R) for y in ys) for x in xs)


# -- The sparse-matrix form, derived over GF(r) with galois ----------------------------------


@functools.cache
def galois_field() -> type[galois.FieldArray]:
    """GF(r) as a galois class (imported lazily: galois takes most of a second to import)."""
    import galois

    # Without the generator galois factors r - 1 to find one, which takes about two minutes.
    return galois.GF(R, primitive_element=R_MULTIPLICATIVE_GENERATOR, verify=False)


def _ints(values: galois.FieldArray) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _matrix_ints(matrix: galois.FieldArray) -> Matrix:
    return tuple(_ints(row) for row in matrix)


@functools.cache
def optimize_constants(width: int) -> OptimizedConstants:
    """Rewrite the constants of width t for sparse partial rounds (circomlibjs's *_opt form).

    In row-vector form (v' = v @ m, m the transposed MDS), a round's constants move in front of
    the preceding matrix as c @ m^-1. Through the partial rounds only the first lane meets the
    S-box, so all but one constant per partial round fold backwards into a single vector.
    """
    import numpy as np

    base = generate_constants(width)
    gf = galois_field()
    t, n_p = width, N_ROUNDS_P[width - 2]
    rounds = [gf(list(base.round_constants[k * t : (k + 1) * t])) for k in range(N_ROUNDS_F + n_p)]
    m = gf([list(row) for row in base.mds]).T
    m_inv = np.linalg.inv(m)

    c: list[int] = list(_ints(rounds[0]))
    for r in range(1, _HALF_F):
        c += _ints(rounds[r] @ m_inv)
    acc = rounds[_HALF_F + n_p]
    folded: list[int] = []
    for r in range(_HALF_F + n_p - 1, _HALF_F - 1, -1):
        moved = acc @ m_inv
        folded.append(int(moved[0]))
        moved[0] = 0
        acc = moved + rounds[r]
    c += _ints(acc @ m_inv)
    c += reversed(folded)
    for r in range(_HALF_F + n_p + 1, N_ROUNDS_F + n_p):
        c += _ints(rounds[r] @ m_inv)

    s, p = _sparse_matrices(m, n_p)
    return OptimizedConstants(width=width, c=tuple(c), s=s, m=_matrix_ints(m), p=p)


def _sparse_matrices(m: galois.FieldArray, n_p: int) -> tuple[tuple[int, ...], Matrix]:
    # circomlibjs factors d_0 = m, then d_{i+1} = m @ diag(1, m_hat_i) with m_hat_i the lower
    # right block of d_i, peeling off per round the sparse matrix [[d00, d_0j], [w_hat, I]]
    # where w_hat = m_hat_i^-1 @ (first column of d_i below d00). The blocks have closed forms
    # (m_hat_i = M^(i+1), the first column stays m's, the first row is m[0, 1:] @ M^i, with
    # M = m[1:, 1:]), so one inverse and vector products replace a matrix inverse per round.
    import numpy as np

    gf = galois_field()
    lower = m[1:, 1:]
    lower_inv = np.linalg.inv(lower)
    w_hat = m[1:, 0]
    first_row = m[0, 1:]
    rows: list[tuple[int, ...]] = []
    for _ in range(n_p):
        w_hat = lower_inv @ w_hat
        rows.append((int(m[0, 0]), *_ints(w_hat), *_ints(first_row)))
        first_row = first_row @ lower
    factor = gf.Identity(m.shape[0])
    factor[1:, 1:] = np.linalg.matrix_power(lower, n_p)
    # The partial rounds run the sparse matrices in the order opposite to their peeling.
    s = tuple(x for row in reversed(rows) for x in row)
    return s, _matrix_ints(m @ factor)


# -- The fast permutation ----------------------------------------------------------------------


BACKENDS: Final = ("int", "gmpy2")


@functools.cache
def _gmpy2_integer() -> Callable[[int], int] | None:
    # Looked up at run time: gmpy2 is an optional accelerator, not a dependency.
    try:
        gmpy2 = importlib.import_module("gmpy2")
    except ImportError:
        return None
    integer: Callable[[int], int] = gmpy2.mpz
    return integer


def available_backends() -> tuple[str, ...]:
    """The integer backends the fast path can use here: "int" always, "gmpy2" if installed."""
    return BACKENDS if _gmpy2_integer() is not None else ("int",)


@dataclass(frozen=True)
class _Schedule:
    # OptimizedConstants regrouped per round, with matrices as rows (new[i] = row_i . state)
    # so the hot loops index tuples instead of doing arithmetic on offsets. Every number,
    # the modulus included, is of the backend's integer type, so that the arithmetic on the
    # (plain int) inputs is done by that type from the first addition on.
    width: int
    modulus: int
    initial: tuple[int, ...]
    first_full: tuple[tuple[int, ...], ...]
    before_partial: tuple[int, ...]
    partial: tuple[tuple[int, ...], ...]
    last_full: tuple[tuple[int, ...], ...]
    m_rows: Matrix
    p_rows: Matrix


@functools.cache
def _schedule(width: int, backend: str) -> _Schedule:
    convert = _gmpy2_integer() if backend == "gmpy2" else int
    if backend not in available_backends() or convert is None:
        raise ToolError(f"Poseidon backend {backend!r} is unavailable (have {available_backends()})")
    opt = optimize_constants(width)
    t, n_p = width, N_ROUNDS_P[width - 2]
    c = tuple(convert(x) for x in opt.c)
    s = tuple(convert(x) for x in opt.s)
    partial_start = (_HALF_F + 1) * t
    last_start = partial_start + n_p
    step = 2 * t - 1
    return _Schedule(
        width=t,
        modulus=convert(R),
        initial=c[:t],
        first_full=tuple(c[(r + 1) * t : (r + 2) * t] for r in range(_HALF_F - 1)),
        before_partial=c[_HALF_F * t : partial_start],
        partial=tuple((c[partial_start + r], *s[step * r : step * (r + 1)]) for r in range(n_p)),
        last_full=tuple(c[last_start + r * t : last_start + (r + 1) * t] for r in range(_HALF_F - 1)),
        m_rows=tuple(tuple(convert(x) for x in column) for column in zip(*opt.m, strict=True)),
        p_rows=tuple(tuple(convert(x) for x in column) for column in zip(*opt.p, strict=True)),
    )


def _mix(rows: Matrix, state: list[int], p: int) -> list[int]:
    # One reduction per output: the products are summed first (lazy reduction).
    return [sum(a * s for a, s in zip(row, state, strict=True)) % p for row in rows]


def _sbox_full(state: list[int], constants: tuple[int, ...], p: int) -> list[int]:
    return [pow(s, 5, p) + c for s, c in zip(state, constants, strict=True)]


def _permute(schedule: _Schedule, state: list[int]) -> int:
    p = schedule.modulus
    state = [s + c for s, c in zip(state, schedule.initial, strict=True)]
    for constants in schedule.first_full:
        state = _mix(schedule.m_rows, _sbox_full(state, constants, p), p)
    state = _mix(schedule.p_rows, _sbox_full(state, schedule.before_partial, p), p)
    t = schedule.width
    s0, rest = state[0], state[1:]
    for c, a0, *coefficients in schedule.partial:
        x = pow(s0, 5, p) + c
        s0 = (a0 * x + sum(a * s for a, s in zip(coefficients[: t - 1], rest, strict=True))) % p
        # rest only ever grows by x * b with x reduced, so it is reduced once, after the loop.
        rest = [s + x * b for s, b in zip(rest, coefficients[t - 1 :], strict=True)]
    state = [s0, *(s % p for s in rest)]
    for constants in schedule.last_full:
        state = _mix(schedule.m_rows, _sbox_full(state, constants, p), p)
    return sum(a * pow(s, 5, p) for a, s in zip(schedule.m_rows[0], state, strict=True)) % p


def _permute3(schedule: _Schedule, a: int, b: int) -> int:
    # _permute unrolled for width 3 (Merkle nodes): about a third faster than the loop form.
    p = schedule.modulus
    (m00, m01, m02), (m10, m11, m12), (m20, m21, m22) = schedule.m_rows
    (p00, p01, p02), (p10, p11, p12), (p20, p21, p22) = schedule.p_rows
    c0, c1, c2 = schedule.initial
    s0, s1, s2 = c0, a + c1, b + c2
    for c0, c1, c2 in schedule.first_full:
        s0 = pow(s0, 5, p) + c0
        s1 = pow(s1, 5, p) + c1
        s2 = pow(s2, 5, p) + c2
        s0, s1, s2 = (
            (m00 * s0 + m01 * s1 + m02 * s2) % p,
            (m10 * s0 + m11 * s1 + m12 * s2) % p,
            (m20 * s0 + m21 * s1 + m22 * s2) % p,
        )
    c0, c1, c2 = schedule.before_partial
    s0 = pow(s0, 5, p) + c0
    s1 = pow(s1, 5, p) + c1
    s2 = pow(s2, 5, p) + c2
    s0, s1, s2 = (
        (p00 * s0 + p01 * s1 + p02 * s2) % p,
        (p10 * s0 + p11 * s1 + p12 * s2) % p,
        (p20 * s0 + p21 * s1 + p22 * s2) % p,
    )
    for c, a0, a1, a2, b1, b2 in schedule.partial:
        x = pow(s0, 5, p) + c
        s0 = (a0 * x + a1 * s1 + a2 * s2) % p
        s1 += x * b1
        s2 += x * b2
    s1 %= p
    s2 %= p
    for c0, c1, c2 in schedule.last_full:
        s0 = pow(s0, 5, p) + c0
        s1 = pow(s1, 5, p) + c1
        s2 = pow(s2, 5, p) + c2
        s0, s1, s2 = (
            (m00 * s0 + m01 * s1 + m02 * s2) % p,
            (m10 * s0 + m11 * s1 + m12 * s2) % p,
            (m20 * s0 + m21 * s1 + m22 * s2) % p,
        )
    return (m00 * pow(s0, 5, p) + m01 * pow(s1, 5, p) + m02 * pow(s2, 5, p)) % p


# -- Public hashes -----------------------------------------------------------------------------


def _check_inputs(inputs: Sequence[int]) -> list[int]:
    if isinstance(inputs, str | bytes) or not isinstance(inputs, Sequence):
        raise FieldError(f"Poseidon inputs must be a sequence of field elements, got {type(inputs).__name__}")
    if not 1 <= len(inputs) <= MAX_INPUTS:
        raise ArityError(f"Poseidon hashes 1 to {MAX_INPUTS} inputs (circomlib's limit), got {len(inputs)}")
    return [to_field(x, f"Poseidon input {i}") for i, x in enumerate(inputs)]


def poseidon(inputs: Sequence[int], *, backend: str | None = None) -> int:
    """Poseidon hash of 1..16 field elements, equal to circomlib's Poseidon(len(inputs)).

    backend picks the integer type ("int" or "gmpy2"); by default the fastest available.
    """
    values = _check_inputs(inputs)
    schedule = _schedule(len(values) + 1, backend or available_backends()[-1])
    if len(values) == 2:
        return int(_permute3(schedule, values[0], values[1]))
    return int(_permute(schedule, [0, *values]))


def poseidon_reference(inputs: Sequence[int]) -> int:
    """The same hash computed the textbook way: every round adds constants and applies the MDS."""
    values = _check_inputs(inputs)
    constants = generate_constants(len(values) + 1)
    t, n_p = constants.width, N_ROUNDS_P[constants.width - 2]
    state = [0, *values]
    for r in range(N_ROUNDS_F + n_p):
        round_constants = constants.round_constants[r * t : (r + 1) * t]
        state = [(s + c) % R for s, c in zip(state, round_constants, strict=True)]
        if _HALF_F <= r < _HALF_F + n_p:
            state[0] = pow(state[0], 5, R)
        else:
            state = [pow(s, 5, R) for s in state]
        state = _mix(constants.mds, state, R)
    return state[0]


def poseidon_galois(inputs: Sequence[int]) -> int:
    """The textbook permutation again, in galois GF(r) arithmetic instead of Python ints."""
    values = _check_inputs(inputs)
    constants = generate_constants(len(values) + 1)
    gf = galois_field()
    t, n_p = constants.width, N_ROUNDS_P[constants.width - 2]
    mds = gf([list(row) for row in constants.mds])
    state = gf([0, *values])
    for r in range(N_ROUNDS_F + n_p):
        state = state + gf(list(constants.round_constants[r * t : (r + 1) * t]))
        if _HALF_F <= r < _HALF_F + n_p:
            state[0] = state[0] ** 5
        else:
            state = state**5
        state = mds @ state
    return int(state[0])
