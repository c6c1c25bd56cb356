"use strict";
/*
 * bn128_m29.js: faster wasm field arithmetic for the batched affine kernels (bn128_kernels.js)
 * of zkey_fast.js's linear combinations.
 *
 * ffjavascript's field (wasmcurves f1m) multiplies 8 limbs of 32 bits, splitting every 64-bit
 * product into halves to carry it; here Fq elements are 9 limbs of 29 bits, so that the products
 * of a whole Montgomery multiplication accumulate in 64-bit registers without any carry until the
 * end (about 1.4x faster), and values are kept "lazily" reduced:
 *
 *   an element x of Fq is stored as 9 little-endian u32 limbs < 2^29 (36 bytes) holding some
 *   X in [0, 2q) with X = x * 2^261 (mod q)   ("M29" form; R = 2^261 > 128 q)
 *
 * Montgomery products of inputs below 8q land below 2q without a final subtraction, so
 * additions need at most one conditional subtraction of 2q and sums of two elements can feed a
 * product unreduced. Fq2 = Fq[u]/(u^2 + 1) is two such elements (72 bytes), products by
 * Karatsuba. Points are affine (x, y): 72 bytes in G1, 144 in G2, (0, 0) for infinity as in
 * ffjavascript. Conversions to and from ffjavascript's form (x * 2^256 mod q, canonical, 8
 * limbs of 32 bits) are exact, so results leave in the very bytes snarkjs writes.
 *
 * Functions (added to the bn128 module through buildBn128's plugin hook):
 *   m29_mul, m29_add, m29_sub, m29_neg, m29_addNR, m29_copy, m29_isZero, m29_fromWc, m29_toWc,
 *   m29_inverse, m29_batchInverse, and m29x2_* the same over Fq2;
 *   g1z_fromWc(pIn, pOut, n), g1z_toWc(pIn, pOut, n) and the same for g2z: points between the
 *   two forms.
 * M29_FIELD describes the field to bn128_kernels.js, which builds the point kernels g1z_*, g2z_*.
 *
 * What it buys end to end (2026-12-01, this project's 2-core machine, quiet; phase 2 of state_sync
 * at the default preset, 106,472 constraints, 2^17 ptau; ABBA order, ZKEY_FAST_KERNEL=m29 vs plain):
 *   groth16 setup 49.3 / 49.2 s vs 61.9 / 67.9 s, contribution + beacon 18.0 / 20.0 s vs 26.3 /
 *   26.9 s, zkey verify 56.4 / 58.0 s vs 73.1 / 77.1 s; total 125 s vs 167 s wall (1.33x), 226 s vs
 *   302 s CPU (1.34x). Kept because it clears the 1.3x bar this file had to meet.
 */

const { forEach } = require("./bn128_kernels.js");

const NL = 9;
const LB = 29;
const LB_N = 29n;
const MASK = (1n << LB_N) - 1n;
const N8Z = 4 * NL; // bytes of one Fq element in M29 form
const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

function limbsOf(x) {
    const out = [];
    for (let j = 0; j < NL; j++) out.push((x >> BigInt(LB * j)) & MASK);
    return out;
}

function limbBytes(x) {
    const b = new Uint8Array(N8Z);
    const dv = new DataView(b.buffer);
    limbsOf(x).forEach((l, j) => dv.setUint32(4 * j, Number(l), true));
    return b;
}

const QL = limbsOf(Q);
const Q2L = limbsOf(2n * Q);

function modInv(a, m) {
    let [o, r] = [((a % m) + m) % m, m];
    let [x0, x1] = [1n, 0n];
    while (r) {
        const qq = o / r;
        [o, r] = [r, o - qq * r];
        [x0, x1] = [x1, x0 - qq * x1];
    }
    return ((x0 % m) + m) % m;
}
const NQINV = (1n << LB_N) - modInv(Q, 1n << LB_N); // -q^-1 mod 2^29

const R29 = 1n << 261n;
const ONE_Z = R29 % Q; // 1 in M29 form
const K_FROM_WC = (1n << 266n) % Q; // mul(A, K) = A * 2^5: x*2^256 -> x*2^261
const K_TO_WC = (1n << 256n) % Q; // mul(X, K) = X * 2^-5: x*2^261 -> x*2^256

function addM29(module) {
    const cst = (x) => module.alloc(limbBytes(x));
    const pZero = cst(0n);
    const pKfrom = cst(K_FROM_WC);
    const pKto = cst(K_TO_WC);

    // ---------------------------------------------------------------- Fq
    {
        const f = module.addFunction("m29_mul");
        f.addParam("a", "i32");
        f.addParam("b", "i32");
        f.addParam("r", "i32");
        for (let j = 0; j < NL; j++) {
            f.addLocal("b" + j, "i64");
            f.addLocal("t" + j, "i64");
        }
        f.addLocal("ai", "i64");
        f.addLocal("m", "i64");
        const c = f.getCodeBuilder();
        const L = (n) => c.getLocal(n);
        const K = (x) => c.i64_const(x);
        const code = [];
        for (let j = 0; j < NL; j++) code.push(...c.setLocal("b" + j, c.i64_load32_u(L("b"), 4 * j)));
        // logical limb j of the running sum, at iteration i, lives in local t[(i + j) % 9]: the
        // shift by one limb after each reduction step is a renaming
        const T = (i, j) => "t" + ((i + j) % NL);
        for (let i = 0; i < NL; i++) {
            code.push(...c.setLocal("ai", c.i64_load32_u(L("a"), 4 * i)));
            for (let j = 0; j < NL; j++) {
                const prod = c.i64_mul(L("ai"), L("b" + j));
                if (i === 0 || j === NL - 1) code.push(...c.setLocal(T(i, j), prod));
                else code.push(...c.setLocal(T(i, j), c.i64_add(L(T(i, j)), prod)));
            }
            code.push(...c.setLocal("m", c.i64_and(c.i64_mul(c.i64_and(L(T(i, 0)), K(MASK)), K(NQINV)), K(MASK))));
            for (let j = 0; j < NL; j++) {
                if (QL[j] === 0n) continue;
                code.push(...c.setLocal(T(i, j), c.i64_add(L(T(i, j)), c.i64_mul(L("m"), K(QL[j])))));
            }
            code.push(...c.setLocal(T(i, 1), c.i64_add(L(T(i, 1)), c.i64_shr_u(L(T(i, 0)), K(LB_N)))));
        }
        // logical limb 8 now is the consumed low limb of the last step: the top limb is a carry
        for (let j = 0; j < NL - 1; j++) {
            const a = T(NL, j);
            const b = T(NL, j + 1);
            if (j < NL - 2) code.push(...c.setLocal(b, c.i64_add(L(b), c.i64_shr_u(L(a), K(LB_N)))));
            else code.push(...c.setLocal(b, c.i64_shr_u(L(a), K(LB_N))));
            code.push(...c.i64_store32(L("r"), 4 * j, c.i64_and(L(a), K(MASK))));
        }
        code.push(...c.i64_store32(L("r"), 4 * (NL - 1), L(T(NL, NL - 1))));
        f.addCode(...code);
        module.exportFunction("m29_mul");
    }

    // r = a + b, limbs normalised; reduce: subtract 2q if the sum is >= 2q
    const buildAdd = (name, reduce) => {
        const f = module.addFunction(name);
        f.addParam("a", "i32");
        f.addParam("b", "i32");
        f.addParam("r", "i32");
        for (let j = 0; j < NL; j++) {
            f.addLocal("s" + j, "i64");
            f.addLocal("t" + j, "i64");
        }
        f.addLocal("k", "i64");
        const c = f.getCodeBuilder();
        const L = (n) => c.getLocal(n);
        const K = (x) => c.i64_const(x);
        const code = [];
        for (let j = 0; j < NL; j++) {
            code.push(...c.setLocal("s" + j, c.i64_add(c.i64_load32_u(L("a"), 4 * j), c.i64_load32_u(L("b"), 4 * j))));
        }
        for (let j = 0; j < NL - 1; j++) {
            code.push(...c.setLocal("s" + (j + 1), c.i64_add(L("s" + (j + 1)), c.i64_shr_u(L("s" + j), K(LB_N)))));
            code.push(...c.setLocal("s" + j, c.i64_and(L("s" + j), K(MASK))));
        }
        if (!reduce) {
            for (let j = 0; j < NL; j++) code.push(...c.i64_store32(L("r"), 4 * j, L("s" + j)));
        } else {
            // t = s - 2q with signed borrows; k = -1 if s < 2q (keep s) else 0 (take t)
            code.push(...c.setLocal("k", K(0n)));
            for (let j = 0; j < NL; j++) {
                code.push(...c.setLocal("t" + j, c.i64_add(c.i64_sub(L("s" + j), K(Q2L[j])), L("k"))));
                code.push(...c.setLocal("k", c.i64_shr_s(L("t" + j), K(LB_N))));
                code.push(...c.setLocal("t" + j, c.i64_and(L("t" + j), K(MASK))));
            }
            for (let j = 0; j < NL; j++) {
                const v = c.i64_xor(L("t" + j), c.i64_and(c.i64_xor(L("s" + j), L("t" + j)), L("k")));
                code.push(...c.i64_store32(L("r"), 4 * j, v));
            }
        }
        f.addCode(...code);
        module.exportFunction(name);
    };
    buildAdd("m29_add", true);
    buildAdd("m29_addNR", false); // < 4q: only ever the input of a product

    {
        // r = a - b, plus 2q if negative (a, b < 2q)
        const f = module.addFunction("m29_sub");
        f.addParam("a", "i32");
        f.addParam("b", "i32");
        f.addParam("r", "i32");
        for (let j = 0; j < NL; j++) f.addLocal("d" + j, "i64");
        f.addLocal("k", "i64");
        f.addLocal("m", "i64");
        const c = f.getCodeBuilder();
        const L = (n) => c.getLocal(n);
        const K = (x) => c.i64_const(x);
        const code = [c.setLocal("k", K(0n))].flat();
        for (let j = 0; j < NL; j++) {
            code.push(
                ...c.setLocal(
                    "d" + j,
                    c.i64_add(c.i64_sub(c.i64_load32_u(L("a"), 4 * j), c.i64_load32_u(L("b"), 4 * j)), L("k"))
                )
            );
            code.push(...c.setLocal("k", c.i64_shr_s(L("d" + j), K(LB_N))));
            code.push(...c.setLocal("d" + j, c.i64_and(L("d" + j), K(MASK))));
        }
        code.push(...c.setLocal("m", L("k"))); // -1 if a < b
        code.push(...c.setLocal("k", K(0n)));
        for (let j = 0; j < NL; j++) {
            code.push(...c.setLocal("d" + j, c.i64_add(c.i64_add(L("d" + j), c.i64_and(L("m"), K(Q2L[j]))), L("k"))));
            code.push(...c.setLocal("k", c.i64_shr_u(L("d" + j), K(LB_N))));
            code.push(...c.i64_store32(L("r"), 4 * j, c.i64_and(L("d" + j), K(MASK))));
        }
        f.addCode(...code);
        module.exportFunction("m29_sub");
    }

    const simple = (name, params, build) => {
        const f = module.addFunction(name);
        for (const p of params) f.addParam(p, "i32");
        const c = f.getCodeBuilder();
        build(f, c);
        module.exportFunction(name);
    };

    {
        // a^2 * 2^-261: the 45 distinct products of the square (cross products once, against a
        // doubled limb), then the 9 reduction steps; no column can reach 2^64 (< 2^62.8)
        const f = module.addFunction("m29_square");
        f.addParam("a", "i32");
        f.addParam("r", "i32");
        for (let j = 0; j < NL; j++) {
            f.addLocal("a" + j, "i64");
            f.addLocal("d" + j, "i64");
        }
        for (let k = 0; k < 2 * NL; k++) f.addLocal("t" + k, "i64");
        f.addLocal("m", "i64");
        const c = f.getCodeBuilder();
        const L = (n) => c.getLocal(n);
        const K = (x) => c.i64_const(x);
        const code = [];
        for (let j = 0; j < NL; j++) {
            code.push(...c.setLocal("a" + j, c.i64_load32_u(L("a"), 4 * j)));
            code.push(...c.setLocal("d" + j, c.i64_shl(L("a" + j), K(1n))));
        }
        for (let k = 0; k < 2 * NL - 1; k++) {
            let sum = null;
            for (let i = Math.max(0, k - NL + 1); i <= k && i < NL; i++) {
                const j = k - i;
                if (j < i) break;
                const prod = i === j ? c.i64_mul(L("a" + i), L("a" + i)) : c.i64_mul(L("a" + i), L("d" + j));
                sum = sum === null ? prod : c.i64_add(sum, prod);
            }
            code.push(...c.setLocal("t" + k, sum));
        }
        code.push(...c.setLocal("t" + (2 * NL - 1), K(0n)));
        for (let i = 0; i < NL; i++) {
            code.push(...c.setLocal("m", c.i64_and(c.i64_mul(c.i64_and(L("t" + i), K(MASK)), K(NQINV)), K(MASK))));
            for (let j = 0; j < NL; j++) {
                if (QL[j] === 0n) continue;
                code.push(...c.setLocal("t" + (i + j), c.i64_add(L("t" + (i + j)), c.i64_mul(L("m"), K(QL[j])))));
            }
            code.push(...c.setLocal("t" + (i + 1), c.i64_add(L("t" + (i + 1)), c.i64_shr_u(L("t" + i), K(LB_N)))));
        }
        for (let j = 0; j < NL; j++) {
            const a = "t" + (NL + j);
            if (j < NL - 1) {
                const b = "t" + (NL + j + 1);
                code.push(...c.setLocal(b, c.i64_add(L(b), c.i64_shr_u(L(a), K(LB_N)))));
                code.push(...c.i64_store32(L("r"), 4 * j, c.i64_and(L(a), K(MASK))));
            } else {
                code.push(...c.i64_store32(L("r"), 4 * j, L(a)));
            }
        }
        f.addCode(...code);
        module.exportFunction("m29_square");
    }
    simple("m29_neg", ["a", "r"], (f, c) => f.addCode(...c.call("m29_sub", c.i32_const(pZero), c.getLocal("a"), c.getLocal("r"))));
    simple("m29_copy", ["a", "r"], (f, c) => {
        for (let j = 0; j < NL; j++) f.addCode(...c.i32_store(c.getLocal("r"), 4 * j, c.i32_load(c.getLocal("a"), 4 * j)));
    });
    {
        // 1 if a = 0 (mod q), i.e. a is 0 or q
        const f = module.addFunction("m29_isZero");
        f.addParam("a", "i32");
        f.setReturnType("i32");
        f.addLocal("z", "i64");
        f.addLocal("w", "i64");
        f.addLocal("v", "i64");
        const c = f.getCodeBuilder();
        const L = (n) => c.getLocal(n);
        const code = [...c.setLocal("z", c.i64_const(0n)), ...c.setLocal("w", c.i64_const(0n))];
        for (let j = 0; j < NL; j++) {
            code.push(...c.setLocal("v", c.i64_load32_u(L("a"), 4 * j)));
            code.push(...c.setLocal("z", c.i64_or(L("z"), L("v"))));
            code.push(...c.setLocal("w", c.i64_or(L("w"), c.i64_xor(L("v"), c.i64_const(QL[j])))));
        }
        code.push(...c.i32_or(c.i64_eqz(L("z")), c.i64_eqz(L("w"))));
        f.addCode(...code);
        module.exportFunction("m29_isZero");
    }
    {
        // from ffjavascript's form: 8 u32 words (x*2^256 mod q, < q) -> M29
        const f = module.addFunction("m29_fromWc");
        f.addParam("p", "i32");
        f.addParam("r", "i32");
        const c = f.getCodeBuilder();
        const tmp = module.alloc(N8Z);
        const word = (w) => (w < 8 ? c.i64_load32_u(c.getLocal("p"), 4 * w) : c.i64_const(0n));
        for (let j = 0; j < NL; j++) {
            const bit = LB * j;
            const w = bit >> 5;
            const sh = bit & 31;
            let v = c.i64_shr_u(word(w), c.i64_const(BigInt(sh)));
            if (sh + LB > 32) v = c.i64_or(v, c.i64_shl(word(w + 1), c.i64_const(BigInt(32 - sh))));
            f.addCode(...c.i64_store32(c.i32_const(tmp), 4 * j, c.i64_and(v, c.i64_const(MASK))));
        }
        f.addCode(...c.call("m29_mul", c.i32_const(tmp), c.i32_const(pKfrom), c.getLocal("r")));
        module.exportFunction("m29_fromWc");
    }
    {
        // to ffjavascript's form, canonical (< q)
        const f = module.addFunction("m29_toWc");
        f.addParam("a", "i32");
        f.addParam("p", "i32");
        for (let j = 0; j < NL; j++) {
            f.addLocal("s" + j, "i64");
            f.addLocal("t" + j, "i64");
        }
        f.addLocal("k", "i64");
        const c = f.getCodeBuilder();
        const L = (n) => c.getLocal(n);
        const K = (x) => c.i64_const(x);
        const tmp = module.alloc(N8Z);
        const code = [...c.call("m29_mul", L("a"), c.i32_const(pKto), c.i32_const(tmp))];
        for (let j = 0; j < NL; j++) code.push(...c.setLocal("s" + j, c.i64_load32_u(c.i32_const(tmp), 4 * j)));
        // s < 2q: subtract q if s >= q
        code.push(...c.setLocal("k", K(0n)));
        for (let j = 0; j < NL; j++) {
            code.push(...c.setLocal("t" + j, c.i64_add(c.i64_sub(L("s" + j), K(QL[j])), L("k"))));
            code.push(...c.setLocal("k", c.i64_shr_s(L("t" + j), K(LB_N))));
            code.push(...c.setLocal("t" + j, c.i64_and(L("t" + j), K(MASK))));
        }
        for (let j = 0; j < NL; j++) {
            code.push(...c.setLocal("s" + j, c.i64_xor(L("t" + j), c.i64_and(c.i64_xor(L("s" + j), L("t" + j)), L("k")))));
        }
        for (let w = 0; w < 8; w++) {
            // bits 32w .. 32w+31 from limbs j0 = floor(32w/29) and the next ones
            const bit = 32 * w;
            const j0 = Math.floor(bit / LB);
            const off = bit - LB * j0;
            let v = c.i64_shr_u(L("s" + j0), K(BigInt(off)));
            let have = LB - off;
            let j = j0 + 1;
            while (have < 32 && j < NL) {
                v = c.i64_or(v, c.i64_shl(L("s" + j), K(BigInt(have))));
                have += LB;
                j++;
            }
            code.push(...c.i64_store32(L("p"), 4 * w, v));
        }
        f.addCode(...code);
        module.exportFunction("m29_toWc");
    }
    {
        const f = module.addFunction("m29_inverse");
        f.addParam("a", "i32");
        f.addParam("r", "i32");
        const c = f.getCodeBuilder();
        const tmp = c.i32_const(module.alloc(32));
        f.addCode(
            ...c.call("m29_toWc", c.getLocal("a"), tmp),
            ...c.call("f1m_inverse", tmp, tmp),
            ...c.call("m29_fromWc", tmp, c.getLocal("r"))
        );
        module.exportFunction("m29_inverse");
    }
    {
        // out[i] = 1/in[i] for i < m (in, out: arrays of M29 elements, distinct); none may be 0
        const f = module.addFunction("m29_batchInverse");
        f.addParam("pIn", "i32");
        f.addParam("pOut", "i32");
        f.addParam("m", "i32");
        f.addLocal("i", "i32");
        const c = f.getCodeBuilder();
        const L = (n) => c.getLocal(n);
        const at = (base, idx) => c.i32_add(L(base), c.i32_mul(idx, c.i32_const(N8Z)));
        const INV = c.i32_const(module.alloc(N8Z));
        const T = c.i32_const(module.alloc(N8Z));
        const iM1 = c.i32_sub(L("i"), c.i32_const(1));
        f.addCode(
            ...c.if(c.i32_eqz(L("m")), c.ret([])),
            ...c.call("m29_copy", L("pIn"), L("pOut")),
            ...c.setLocal("i", c.i32_const(1)),
            ...c.block(
                c.loop(
                    c.br_if(1, c.i32_ge_u(L("i"), L("m"))),
                    ...c.call("m29_mul", at("pOut", iM1), at("pIn", L("i")), at("pOut", L("i"))),
                    ...c.setLocal("i", c.i32_add(L("i"), c.i32_const(1))),
                    c.br(0)
                )
            ),
            ...c.call("m29_inverse", at("pOut", c.i32_sub(L("m"), c.i32_const(1))), INV),
            ...c.setLocal("i", c.i32_sub(L("m"), c.i32_const(1))),
            ...c.block(
                c.loop(
                    c.br_if(1, c.i32_eqz(L("i"))),
                    ...c.call("m29_mul", INV, at("pOut", iM1), T),
                    ...c.call("m29_mul", INV, at("pIn", L("i")), INV),
                    ...c.call("m29_copy", T, at("pOut", L("i"))),
                    ...c.setLocal("i", iM1),
                    c.br(0)
                )
            ),
            ...c.call("m29_copy", INV, L("pOut"))
        );
        module.exportFunction("m29_batchInverse");
    }

    // ---------------------------------------------------------------- Fq2 (u^2 = -1)
    {
        const E = N8Z;
        const T0 = module.alloc(N8Z);
        const T1 = module.alloc(N8Z);
        const T2 = module.alloc(N8Z);
        const SA = module.alloc(N8Z);
        const SB = module.alloc(N8Z);
        simple("m29x2_mul", ["a", "b", "r"], (f, c) => {
            const a0 = c.getLocal("a");
            const a1 = c.i32_add(c.getLocal("a"), c.i32_const(E));
            const b0 = c.getLocal("b");
            const b1 = c.i32_add(c.getLocal("b"), c.i32_const(E));
            const r0 = c.getLocal("r");
            const r1 = c.i32_add(c.getLocal("r"), c.i32_const(E));
            const K = (p) => c.i32_const(p);
            f.addCode(
                ...c.call("m29_mul", a0, b0, K(T0)),
                ...c.call("m29_mul", a1, b1, K(T1)),
                ...c.call("m29_addNR", a0, a1, K(SA)),
                ...c.call("m29_addNR", b0, b1, K(SB)),
                ...c.call("m29_mul", K(SA), K(SB), K(T2)),
                ...c.call("m29_sub", K(T0), K(T1), r0),
                ...c.call("m29_sub", K(T2), K(T0), K(T2)),
                ...c.call("m29_sub", K(T2), K(T1), r1)
            );
        });
        simple("m29x2_square", ["a", "r"], (f, c) => {
            const a0 = c.getLocal("a");
            const a1 = c.i32_add(c.getLocal("a"), c.i32_const(E));
            const r0 = c.getLocal("r");
            const r1 = c.i32_add(c.getLocal("r"), c.i32_const(E));
            const K = (p) => c.i32_const(p);
            f.addCode(
                ...c.call("m29_addNR", a0, a1, K(SA)),
                ...c.call("m29_sub", a0, a1, K(SB)),
                ...c.call("m29_mul", a0, a1, K(T0)),
                ...c.call("m29_mul", K(SA), K(SB), r0),
                ...c.call("m29_add", K(T0), K(T0), r1)
            );
        });
        for (const op of ["add", "sub"]) {
            simple("m29x2_" + op, ["a", "b", "r"], (f, c) => {
                const off = (l) => c.i32_add(c.getLocal(l), c.i32_const(E));
                f.addCode(
                    ...c.call("m29_" + op, c.getLocal("a"), c.getLocal("b"), c.getLocal("r")),
                    ...c.call("m29_" + op, off("a"), off("b"), off("r"))
                );
            });
        }
        for (const op of ["neg", "copy"]) {
            simple("m29x2_" + op, ["a", "r"], (f, c) => {
                const off = (l) => c.i32_add(c.getLocal(l), c.i32_const(E));
                f.addCode(...c.call("m29_" + op, c.getLocal("a"), c.getLocal("r")), ...c.call("m29_" + op, off("a"), off("r")));
            });
        }
        {
            const f = module.addFunction("m29x2_isZero");
            f.addParam("a", "i32");
            f.setReturnType("i32");
            const c = f.getCodeBuilder();
            f.addCode(
                ...c.i32_and(
                    c.call("m29_isZero", c.getLocal("a")),
                    c.call("m29_isZero", c.i32_add(c.getLocal("a"), c.i32_const(E)))
                )
            );
            module.exportFunction("m29x2_isZero");
        }
    }

    // ---------------------------------------------------------------- point conversions
    for (const g of [1, 2]) {
        const n = g === 1 ? N8Z : 2 * N8Z; // bytes of a coordinate
        for (const dir of ["fromWc", "toWc"]) {
            // m points between ffjavascript's affine LEM form and M29
            const f = module.addFunction(`g${g}z_${dir}`);
            for (const p of ["pIn", "pOut", "m"]) f.addParam(p, "i32");
            f.addLocal("i", "i32");
            const c = f.getCodeBuilder();
            const L = (l) => c.getLocal(l);
            const wcSize = g === 1 ? 64 : 128;
            const zSize = 2 * n;
            const [inSize, outSize] = dir === "fromWc" ? [wcSize, zSize] : [zSize, wcSize];
            const [inStep, outStep] = dir === "fromWc" ? [32, N8Z] : [N8Z, 32];
            const body = [];
            for (let k = 0; k < wcSize / 32; k++) {
                body.push(
                    ...c.call(
                        "m29_" + dir,
                        c.i32_add(L("pIn"), c.i32_add(c.i32_mul(L("i"), c.i32_const(inSize)), c.i32_const(k * inStep))),
                        c.i32_add(L("pOut"), c.i32_add(c.i32_mul(L("i"), c.i32_const(outSize)), c.i32_const(k * outStep)))
                    )
                );
            }
            f.addCode(...forEach(c, body));
            module.exportFunction(`g${g}z_${dir}`);
        }
    }
}

// The field for bn128_kernels.js's point kernels (g1z_*, g2z_*).
const M29_FIELD = {
    tag: "z",
    fq: "m29",
    fq2: "m29x2",
    n8: N8Z,
    encode: (x) => limbBytes((x * R29) % Q),
    batchInverse: (c, pIn, pOut, m) => c.call("m29_batchInverse", pIn, pOut, m),
};

module.exports = { addM29, M29_FIELD, N8Z, NL, LB, Q, R29, limbBytes, ONE_Z };
