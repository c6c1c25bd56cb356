"use strict";
/*
 * bn128_batch.js: batched affine arithmetic on BN254 for the local setup tools (ptau_fast.js,
 * zkey_fast.js), on top of the wasm module ffjavascript/snarkjs use.
 *
 * The kernels are added to ffjavascript's bn128 module (wasmcurves) through buildBn128's plugin
 * hook (batchWasmPlugin), next to its own functions:
 *
 *   <g>m_ptauBatchAdd(pA, pB, pO, pF, m, pDen, pInv)   O[i] = A[i] +- B[i], one inversion for all,
 *                                                      on ffjavascript's own encoding (ptau_fast.js)
 *   <g>z_batchAdd, <g>z_batchDouble, <g>z_phi, ...     the same additions, 2^t-fold doublings and
 *                                                      the GLV endomorphism on points in the faster
 *                                                      "M29" form of bn128_m29.js, with exact
 *                                                      conversions from and to ffjavascript's
 *
 * with g = g1 (G1 over Fq) or g2 (G2 over Fq2). Engine wraps one instance of the module (a worker
 * thread each, or the main thread) with an allocator, the exceptional cases of the affine formulas
 * (through wasmcurves' projective ones) and a start-up self-test; linearCombinations() is the
 * Straus/GLV engine zkey_fast.js runs in its workers: many sparse sums  out_j = sum_i k_ij * P_i
 * at once, every addition and doubling of a round sharing one field inversion.
 */

const M29 = require("./bn128_m29.js");

const SCALAR_BITS = 254; // r < 2^254
const N8 = 32;

// BN254 (alt_bn128) parameters.
const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
// GLV: lambda^2 + lambda + 1 = 0 (mod r); phi(x, y) = (beta*x, y) is lambda*P on G1 with BETA_G1
// and on G2 (the sextic twist, same j-invariant 0) with BETA_G2 = BETA_G1^2 (checked at start-up).
const GLV_LAMBDA = 4407920970296243842393367215006156084916469457145843978461n;
const BETA_G1 = 2203960485148121921418603742825762020974279258880205651966n;
const BETA_G2 = 21888242871839275220042445260109153167277707414472061641714758635765020556616n;
// A reduced basis of the lattice {(a, b) : a + b*lambda = 0 mod r} (extended Euclid on r, lambda).
const GLV_V1 = [9931322734385697763n, -147946756881789319000765030803803410728n];
const GLV_V2 = [147946756881789319010696353538189108491n, 9931322734385697763n];
const GLV_HALF_BITS = 128; // |k1|, |k2| < 2^128 for every k in [0, r)

function bigToLE(x, n8) {
    const b = new Uint8Array(n8);
    for (let i = 0; i < n8; i++) {
        b[i] = Number(x & 0xffn);
        x >>= 8n;
    }
    return b;
}

function leToBig(buf, off, n8) {
    let x = 0n;
    for (let i = n8 - 1; i >= 0; i--) x = (x << 8n) | BigInt(buf[off + i]);
    return x;
}

function roundDiv(a, b) {
    // round(a / b) for b > 0
    const neg = a < 0n;
    const A = neg ? -a : a;
    const qv = (2n * A + b) / (2n * b);
    return neg ? -qv : qv;
}

// k (0 <= k < r) -> [k1, k2] with k = k1 + k2*lambda (mod r), |k1|, |k2| < 2^128.
function glvSplit(k) {
    const c1 = roundDiv(k * GLV_V2[1], R);
    const c2 = roundDiv(-k * GLV_V1[1], R);
    const k1 = k - c1 * GLV_V1[0] - c2 * GLV_V2[0];
    const k2 = -c1 * GLV_V1[1] - c2 * GLV_V2[1];
    const abs = (x) => (x < 0n ? -x : x);
    if (abs(k1) >> BigInt(GLV_HALF_BITS) || abs(k2) >> BigInt(GLV_HALF_BITS)) throw new Error("GLV split out of range");
    if ((((k1 + k2 * GLV_LAMBDA - k) % R) + R) % R !== 0n) throw new Error("GLV split is wrong");
    return [k1, k2];
}

// Signed c-bit digits of a signed integer x, |x| < 2^bits: nW digits d_j in [-2^(c-1), 2^(c-1)]
// with x = sum d_j 2^(c*j). nW*c >= bits + 1 guarantees that the top digit never carries.
function signedDigits(x, c, nW, out, off) {
    const neg = x < 0n;
    let v = neg ? -x : x;
    const full = 1n << BigInt(c);
    const half = full >> 1n;
    const mask = full - 1n;
    let carry = 0n;
    for (let j = 0; j < nW; j++) {
        let d = (v & mask) + carry;
        v >>= BigInt(c);
        if (d > half) {
            d -= full;
            carry = 1n;
        } else {
            carry = 0n;
        }
        out[off + j] = Number(neg ? -d : d);
    }
    if (carry || v) throw new Error("scalar recoding overflow");
}

function windowsFor(bits, c) {
    return Math.ceil((bits + 1) / c);
}

/*
 * A table of scalars for linearCombinations(): value i has nW digits for P (its GLV half k1) and
 * nW digits for phi(P) (half k2), in a flat Int8Array (c <= 8), plus its largest |digit| and
 * whether any phi digit is non-zero.
 */
function scalarTable(values, c) {
    const nW = windowsFor(GLV_HALF_BITS, c);
    const n = values.length;
    const digits = new Int8Array(n * 2 * nW);
    const maxAbs = new Uint8Array(n);
    const hasPhi = new Uint8Array(n);
    const top = new Int8Array(n); // highest window with a non-zero digit (-1: the scalar is 0)
    for (let i = 0; i < n; i++) {
        const k = ((values[i] % R) + R) % R;
        const [k1, k2] = glvSplit(k);
        signedDigits(k1, c, nW, digits, i * 2 * nW);
        signedDigits(k2, c, nW, digits, i * 2 * nW + nW);
        let m = 0;
        let phi = 0;
        let t = -1;
        for (let j = 0; j < 2 * nW; j++) {
            const a = Math.abs(digits[i * 2 * nW + j]);
            if (a > m) m = a;
            if (j >= nW && a) phi = 1;
            if (a && j % nW > t) t = j % nW;
        }
        maxAbs[i] = m;
        hasPhi[i] = phi;
        top[i] = t;
    }
    return { c, nW, digits, maxAbs, hasPhi, top };
}

/* ------------------------------------------------------------------------------------------ */
/* wasm kernels (plugin for ffjavascript's buildBn128)                                        */
/* ------------------------------------------------------------------------------------------ */

function montBytes(x) {
    return bigToLE((x << 256n) % Q, N8);
}

// <g>_ptauBatchAdd(pA, pB, pO, pF, m, pDen, pInv): for i < m, with a = A[i], b = B[i], o = O[i]
// (i32 pointers to affine Montgomery points) and s = -1 if (F[i] & 1) else +1, set o = a + s*b
// with the affine formulas, all m inversions batched into one. Where x_a == x_b nothing is
// written and F[i] |= 2 (the caller handles those). o may be a. pDen / pInv: m field elements each.
// G2 inverts the norms x0^2 + x1^2 in Fq (u^2 = -1) instead of the Fq2 elements themselves.
function addBatchAddKernel(module, prefix, fp, n8) {
    const f = module.addFunction(prefix + "_ptauBatchAdd");
    for (const p of ["pA", "pB", "pO", "pF", "m", "pDen", "pInv"]) f.addParam(p, "i32");
    for (const l of ["i", "a", "b", "o", "fl", "den", "inv"]) f.addLocal(l, "i32");
    const c = f.getCodeBuilder();
    const NUM = c.i32_const(module.alloc(n8));
    const LAM = c.i32_const(module.alloc(n8));
    const X3 = c.i32_const(module.alloc(n8));
    const T = c.i32_const(module.alloc(n8));
    const INV = c.i32_const(module.alloc(n8));
    const get = (l) => c.getLocal(l);
    const plus = (code, k) => c.i32_add(code, c.i32_const(k));
    const slot = (arr) => c.i32_add(get(arr), c.i32_shl(get("i"), c.i32_const(2)));
    const elem = (base, size) => c.i32_add(get(base), c.i32_mul(get("i"), c.i32_const(size)));
    const forEach = (...body) => [
        ...c.setLocal("i", c.i32_const(0)),
        ...c.block(
            c.loop(
                c.br_if(1, c.i32_eq(get("i"), get("m"))),
                ...body,
                c.setLocal("i", c.i32_add(get("i"), c.i32_const(1))),
                c.br(0)
            )
        ),
    ];
    const call = (fn, ...args) => c.call(fp + "_" + fn, ...args);
    // phase 1: denominators x_b - x_a, and their batched inverses
    if (n8 === 32) {
        f.addCode(
            ...forEach(call("sub", c.i32_load(slot("pB")), c.i32_load(slot("pA")), elem("pDen", n8))),
            ...c.call("f1m_batchInverse", get("pDen"), c.i32_const(32), get("m"), get("pInv"), c.i32_const(32))
        );
    } else {
        f.addCode(
            ...forEach(
                c.setLocal("den", elem("pDen", 64)),
                c.setLocal("inv", elem("pInv", 32)),
                call("sub", c.i32_load(slot("pB")), c.i32_load(slot("pA")), get("den")),
                c.call("f1m_square", get("den"), get("inv")),
                c.call("f1m_square", plus(get("den"), 32), T),
                c.call("f1m_add", get("inv"), T, get("inv"))
            ),
            // in place: batchInverse reads in[i] before it writes out[i]
            ...c.call("f1m_batchInverse", get("pInv"), c.i32_const(32), get("m"), get("pInv"), c.i32_const(32))
        );
    }
    // phase 2: the additions
    const inverse =
        n8 === 32
            ? c.setLocal("inv", elem("pInv", 32))
            : [
                  ...c.setLocal("inv", INV),
                  ...c.call("f1m_mul", get("den"), elem("pInv", 32), INV),
                  ...c.call("f1m_mul", plus(get("den"), 32), elem("pInv", 32), plus(INV, 32)),
                  ...c.call("f1m_neg", plus(INV, 32), plus(INV, 32)),
              ];
    const a = get("a");
    const b = get("b");
    const ya = plus(get("a"), n8);
    const yb = plus(get("b"), n8);
    f.addCode(
        ...forEach(
            c.setLocal("den", elem("pDen", n8)),
            c.setLocal("fl", c.i32_load(slot("pF"))),
            c.if(
                call("isZero", get("den")),
                c.i32_store(slot("pF"), c.i32_or(get("fl"), c.i32_const(2))),
                [
                    ...c.setLocal("a", c.i32_load(slot("pA"))),
                    ...c.setLocal("b", c.i32_load(slot("pB"))),
                    ...c.setLocal("o", c.i32_load(slot("pO"))),
                    ...inverse,
                    ...c.if(
                        c.i32_and(get("fl"), c.i32_const(1)),
                        [
                            // lambda' = (y_b + y_a)/(x_b - x_a) = -lambda; y3 = lambda'(x3 - x_a) - y_a
                            ...call("add", yb, ya, NUM),
                            ...call("mul", NUM, get("inv"), LAM),
                            ...call("square", LAM, X3),
                            ...call("sub", X3, a, X3),
                            ...call("sub", X3, b, X3),
                            ...call("sub", X3, a, T),
                        ],
                        [
                            // lambda = (y_b - y_a)/(x_b - x_a); y3 = lambda(x_a - x3) - y_a
                            ...call("sub", yb, ya, NUM),
                            ...call("mul", NUM, get("inv"), LAM),
                            ...call("square", LAM, X3),
                            ...call("sub", X3, a, X3),
                            ...call("sub", X3, b, X3),
                            ...call("sub", a, X3, T),
                        ]
                    ),
                    ...call("mul", LAM, T, T),
                    ...call("sub", T, ya, plus(get("o"), n8)),
                    ...call("copy", X3, get("o")),
                ]
            )
        )
    );
    module.exportFunction(prefix + "_ptauBatchAdd");
}

// The plugin for ffjavascript's buildBn128(singleThread, plugin).
function batchWasmPlugin(module) {
    for (const [prefix, fp, n8] of [["g1m", "f1m", 32], ["g2m", "f2m", 64]]) {
        addBatchAddKernel(module, prefix, fp, n8);
    }
    M29.addM29(module, BETA_G1, BETA_G2);
}

/* ------------------------------------------------------------------------------------------ */
/* Engine: one instance of the module                                                         */
/* ------------------------------------------------------------------------------------------ */

class Engine {
    // wasmModule: WebAssembly.Module of curve.tm.code (the plugin included); consts: the module's
    // pG1gen / pG2gen (curve.tm.pG1gen, ...), batchCap: the largest batch of one kernel call.
    static async create(wasmModule, consts, batchCap = 16384) {
        const e = new Engine();
        e.memory = new WebAssembly.Memory({ initial: 64, maximum: 32767 });
        const inst = await WebAssembly.instantiate(wasmModule, { env: { memory: e.memory } });
        e.ex = inst.exports;
        e.pG1gen = consts.pG1gen;
        e.pG2gen = consts.pG2gen;
        e.batchCap = batchCap;
        e.refreshViews();
        e.freePtr = e.u32[0];
        e.scratchReserve = (batchCap + 2) * 64 + (1 << 20);
        e.den = e.alloc(batchCap * 64);
        e.inv = e.alloc(batchCap * 64);
        e.tmpA = e.alloc(128);
        e.tmpJ = e.alloc(192);
        e.pAptr = e.alloc(batchCap * 4);
        e.pBptr = e.alloc(batchCap * 4);
        e.pOptr = e.alloc(batchCap * 4);
        e.pFptr = e.alloc(batchCap * 4);
        // scratch of the M29 kernels: denominators (Fq or Fq2), norms, inverses
        e.zDen = e.alloc(batchCap * 2 * M29.N8Z);
        e.zNrm = e.alloc(batchCap * M29.N8Z);
        e.zInv = e.alloc(batchCap * M29.N8Z);
        e.wcA = e.alloc(128);
        e.wcB = e.alloc(128);
        e.refreshViews();
        e.inf = new Uint8Array(batchCap);
        e.groups = { 1: e.makeGroup(1), 2: e.makeGroup(2) };
        e.selfTest();
        return e;
    }

    refreshViews() {
        const buf = this.memory.buffer;
        this.u8 = new Uint8Array(buf);
        this.u32 = new Uint32Array(buf);
        if (this.pAptr) {
            this.pA = new Int32Array(buf, this.pAptr, this.batchCap);
            this.pB = new Int32Array(buf, this.pBptr, this.batchCap);
            this.pO = new Int32Array(buf, this.pOptr, this.batchCap);
            this.pF = new Int32Array(buf, this.pFptr, this.batchCap);
        }
    }

    // Bump allocator above the module's own (the word at address 0 is its free pointer; its
    // batch functions take scratch space from there, so some room always stays free above it).
    ensureMemory(bytes) {
        const need = Math.ceil(bytes / 65536);
        const have = this.memory.buffer.byteLength / 65536;
        if (need > have) {
            if (need > 32767) throw new Error(`wasm memory limit: ${bytes} bytes needed`);
            this.memory.grow(need - have);
            this.refreshViews();
        }
    }

    alloc(n) {
        const p = (this.freePtr + 63) & ~63;
        this.freePtr = p + n;
        this.ensureMemory(this.freePtr + this.scratchReserve);
        this.u32[0] = this.freePtr;
        return p;
    }

    mark() {
        return this.freePtr;
    }

    release(mark) {
        this.freePtr = mark;
        this.u32[0] = mark;
    }

    makeGroup(g) {
        const ex = this.ex;
        const f = g === 1 ? "f1m" : "f2m";
        const c = g === 1 ? "g1m" : "g2m";
        const n8 = g === 1 ? 32 : 64;
        return {
            g,
            n8,
            sz: 2 * n8,
            copyF: ex[f + "_copy"],
            negF: ex[f + "_neg"],
            isZeroF: ex[f + "_isZero"],
            addAffine: ex[c + "_addAffine"],
            negAffine: ex[c + "_negAffine"],
            toAffine: ex[c + "_toAffine"],
            isZeroJ: ex[c + "_isZero"],
            isZeroAffine: ex[c + "_isZeroAffine"],
            copyAffine: ex[c + "_copyAffine"],
            zeroAffine: ex[c + "_zeroAffine"],
            doubleAffine: ex[c + "_doubleAffine"],
            batchLEMtoU: ex[c + "_batchLEMtoU"],
            kAdd: ex[c + "_ptauBatchAdd"],
            timesScalar: ex[c + "_timesScalar"],
            gen: g === 1 ? this.pG1gen : this.pG2gen,
            // the same group in M29 form (bn128_m29.js): points of 72 / 144 bytes
            zsz: (g === 1 ? 2 : 4) * M29.N8Z,
            kzAdd: ex[`g${g}z_batchAdd`],
            kzDouble: ex[`g${g}z_batchDouble`],
            kzPhi: ex[`g${g}z_phi`],
            kzFromWc: ex[`g${g}z_fromWc`],
            kzToWc: ex[`g${g}z_toWc`],
            kzNeg: ex[`g${g}z_neg`],
        };
    }

    // O[i] = A[i] + s_i*B[i] for i < m (s_i = -1 if bit 0 of pF[i]), pointers in this.pA / pB /
    // pO (pA when inPlace). Pairs with equal x (doubling, or A == -B) are done with the complete
    // projective formulas. this.inf[i] = 1 marks a result at infinity (written as x = y = 0).
    batchAdd(G, m, inPlace) {
        if (m === 0) return;
        G.kAdd(this.pAptr, this.pBptr, inPlace ? this.pAptr : this.pOptr, this.pFptr, m, this.den, this.inv);
        const F = this.pF;
        const inf = this.inf;
        inf.fill(0, 0, m);
        for (let i = 0; i < m; i++) {
            if (!(F[i] & 2)) continue;
            const a = this.pA[i];
            const o = inPlace ? a : this.pO[i];
            let b = this.pB[i];
            if (F[i] & 1) {
                G.negAffine(b, this.tmpA);
                b = this.tmpA;
            }
            G.addAffine(a, b, this.tmpJ);
            if (G.isZeroJ(this.tmpJ)) {
                G.zeroAffine(o);
                inf[i] = 1;
            } else {
                G.toAffine(this.tmpJ, o);
            }
        }
    }

    // batchAdd for points in M29 form (the exceptional cases through ffjavascript's formulas).
    zAdd(G, m, inPlace) {
        if (m === 0) return;
        G.kzAdd(this.pAptr, this.pBptr, inPlace ? this.pAptr : this.pOptr, this.pFptr, m, this.zDen, this.zNrm, this.zInv);
        const F = this.pF;
        const inf = this.inf;
        inf.fill(0, 0, m);
        for (let i = 0; i < m; i++) {
            if (!(F[i] & 2)) continue;
            const o = inPlace ? this.pA[i] : this.pO[i];
            G.kzToWc(this.pA[i], this.wcA, 1);
            G.kzToWc(this.pB[i], this.wcB, 1);
            if (F[i] & 1) G.negAffine(this.wcB, this.wcB);
            G.addAffine(this.wcA, this.wcB, this.tmpJ);
            if (G.isZeroJ(this.tmpJ)) {
                this.u8.fill(0, o, o + G.zsz);
                inf[i] = 1;
            } else {
                G.toAffine(this.tmpJ, this.wcA);
                G.kzFromWc(this.wcA, o, 1);
            }
        }
    }

    zDouble(G, m, times) {
        if (m > 0 && times > 0) G.kzDouble(this.pAptr, m, times, this.zDen, this.zNrm, this.zInv);
    }

    zCopyPoint(G, src, dst, neg) {
        if (neg) G.kzNeg(src, dst);
        else this.u8.copyWithin(dst, src, src + G.zsz);
    }

    // Check the kernels against wasmcurves' projective formulas, the exceptional cases included.
    selfTest() {
        const mk = this.mark();
        const scal = this.alloc(N8);
        const jac = this.alloc(192);
        for (const g of [1, 2]) {
            const G = this.groups[g];
            const sz = G.sz;
            const mul = (k, dst) => {
                this.u8.fill(0, scal, scal + N8);
                const kk = Math.abs(k);
                this.u8[scal] = kk & 0xff;
                this.u8[scal + 1] = kk >> 8;
                G.timesScalar(G.gen, scal, N8, jac);
                G.toAffine(jac, dst);
                if (k < 0) G.negAffine(dst, dst);
                if (k === 0) G.zeroAffine(dst);
            };
            const P = this.alloc(sz);
            const Qp = this.alloc(sz);
            const out = this.alloc(4 * sz);
            const want = this.alloc(4 * sz);
            mul(5, P);
            mul(7, Qp);
            // P + P, P - P, P - Q, Q + P  ->  10G, infinity, -2G, 12G
            const cases = [[P, P, 0, 10], [P, P, 1, 0], [P, Qp, 1, -2], [Qp, P, 0, 12]];
            const eq = (x, y) => {
                for (let i = 0; i < sz; i++) if (this.u8[x + i] !== this.u8[y + i]) return false;
                return true;
            };
            for (const inPlace of [false, true]) {
                cases.forEach(([a, b, neg, k], i) => {
                    const dst = out + i * sz;
                    this.u8.copyWithin(dst, a, a + sz);
                    this.pA[i] = inPlace ? dst : a;
                    this.pB[i] = b;
                    this.pO[i] = dst;
                    this.pF[i] = neg;
                    mul(k, want + i * sz);
                });
                this.batchAdd(G, cases.length, inPlace);
                cases.forEach(([, , , k], i) => {
                    if (!eq(out + i * sz, want + i * sz) || this.inf[i] !== (k === 0 ? 1 : 0)) {
                        throw new Error(`self-test of the G${g} batched addition failed (case ${i})`);
                    }
                });
            }
            const lam = bigToLE(GLV_LAMBDA, N8);
            const pj = this.alloc(3 * G.n8);
            this.ex[g === 1 ? "g1m_toJacobian" : "g2m_toJacobian"](P, pj);

            // the same through the M29 kernels: in and out through the conversions
            const zs = G.zsz;
            const zP = this.alloc(zs);
            const zQ = this.alloc(zs);
            const zOut = this.alloc(4 * zs);
            G.kzFromWc(P, zP, 1);
            G.kzFromWc(Qp, zQ, 1);
            const zMap = new Map([[P, zP], [Qp, zQ]]);
            for (const inPlace of [false, true]) {
                cases.forEach(([a, b, neg, k], i) => {
                    const dst = zOut + i * zs;
                    this.u8.copyWithin(dst, zMap.get(a), zMap.get(a) + zs);
                    this.pA[i] = inPlace ? dst : zMap.get(a);
                    this.pB[i] = zMap.get(b);
                    this.pO[i] = dst;
                    this.pF[i] = neg;
                    mul(k, want + i * sz);
                });
                this.zAdd(G, cases.length, inPlace);
                cases.forEach(([, , , k], i) => {
                    G.kzToWc(zOut + i * zs, out + i * sz, 1);
                    if (!eq(out + i * sz, want + i * sz) || this.inf[i] !== (k === 0 ? 1 : 0)) {
                        throw new Error(`self-test of the G${g} batched addition (M29) failed (case ${i})`);
                    }
                });
            }
            this.u8.copyWithin(zOut, zP, zP + zs);
            this.u8.copyWithin(zOut + zs, zQ, zQ + zs);
            this.pA[0] = zOut;
            this.pA[1] = zOut + zs;
            this.zDouble(G, 2, 3);
            mul(40, want);
            mul(56, want + sz);
            G.kzToWc(zOut, out, 2);
            if (!eq(out, want) || !eq(out + sz, want + sz)) throw new Error(`self-test of the G${g} doubling (M29) failed`);
            G.kzPhi(zP, zOut, 1);
            G.kzToWc(zOut, out, 1);
            this.u8.set(lam, scal);
            G.timesScalar(pj, scal, N8, jac);
            G.toAffine(jac, want);
            if (!eq(out, want)) throw new Error(`self-test of the G${g} endomorphism (M29) failed`);
        }
        this.release(mk);
    }

    /*
     * Sparse linear combinations, all at once (Straus with GLV, lockstep batched affine):
     *
     *   out_j = sum over terms t with out[t] = j of  k_{val[t]} * P_{base[t]}
     *
     * G: group; pBases: nBases affine points in wasm memory (contiguous); terms: Int32Arrays base,
     * val, out (nTerms each); tab: scalarTable(); groupSize: terms per accumulator (an output
     * with more terms gets several accumulators, summed at the end).
     * Every base gets a table of d*P and d*phi(P) for d = 1..(largest |digit| it needs); every
     * accumulator walks the windows from the top, c doublings then one addition per non-zero
     * digit of its terms. Returns { outs: Int32Array, pts: Uint8Array (LEM affine, zero = 0,0) },
     * one entry per distinct output, in increasing output order.
     */
    linearCombinations(G, pBases, nBases, terms, tab, groupSize, prof) {
        const { base, val, out } = terms;
        const nTerms = base.length;
        const { c, nW, digits, maxAbs, hasPhi, top } = tab;
        const sz = G.zsz; // tables and accumulators are in M29 form
        const wsz = G.sz; // bases and results in ffjavascript's
        const u8 = () => this.u8;
        const mk = this.mark();
        const tA = prof ? threadCpuMs() : 0;

        // order the terms by output (stable), dropping those on a base at infinity
        const baseZero = new Uint8Array(nBases);
        for (let b = 0; b < nBases; b++) baseZero[b] = G.isZeroAffine(pBases + b * wsz) ? 1 : 0;
        const order = sortByOutput(out, nTerms);

        // tables: entries 1..need[b] of P_b, then (if any term needs it) of phi(P_b)
        const need = new Uint8Array(nBases);
        const phi = new Uint8Array(nBases);
        for (let t = 0; t < nTerms; t++) {
            const b = base[t];
            if (baseZero[b]) continue;
            const v = val[t];
            if (maxAbs[v] > need[b]) need[b] = maxAbs[v];
            if (hasPhi[v]) phi[b] = 1;
        }
        const tabPtr = new Int32Array(nBases);
        const phiPtr = new Int32Array(nBases);
        let tabBytes = 0;
        let maxNeed = 0;
        for (let b = 0; b < nBases; b++) {
            tabBytes += need[b] * sz * (1 + phi[b]);
            if (need[b] > maxNeed) maxNeed = need[b];
        }
        const tabBase = this.alloc(tabBytes);
        let p = tabBase;
        for (let b = 0; b < nBases; b++) {
            if (!need[b]) continue;
            tabPtr[b] = p;
            p += need[b] * sz;
            if (phi[b]) {
                phiPtr[b] = p;
                p += need[b] * sz;
            }
            G.kzFromWc(pBases + b * wsz, tabPtr[b], 1);
        }
        const cap = this.batchCap;
        // entry 2 = 2 * entry 1
        {
            let m = 0;
            for (let b = 0; b < nBases; b++) {
                if (need[b] < 2) continue;
                u8().copyWithin(tabPtr[b] + sz, tabPtr[b], tabPtr[b] + sz);
                this.pA[m++] = tabPtr[b] + sz;
                if (m === cap) {
                    this.zDouble(G, m, 1);
                    m = 0;
                }
            }
            this.zDouble(G, m, 1);
        }
        // entry d = entry (d-1) + entry 1
        for (let d = 3; d <= maxNeed; d++) {
            let m = 0;
            const flush = () => {
                this.pF.fill(0, 0, m);
                this.zAdd(G, m, false);
                for (let i = 0; i < m; i++) if (this.inf[i]) throw new Error("table entry at infinity");
                m = 0;
            };
            for (let b = 0; b < nBases; b++) {
                if (need[b] < d) continue;
                const t0 = tabPtr[b];
                this.pA[m] = t0 + (d - 2) * sz;
                this.pB[m] = t0;
                this.pO[m] = t0 + (d - 1) * sz;
                m++;
                if (m === cap) flush();
            }
            if (m) flush();
        }
        for (let b = 0; b < nBases; b++) if (phi[b]) G.kzPhi(tabPtr[b], phiPtr[b], need[b]);
        const tB = prof ? threadCpuMs() : 0;

        // accumulators: runs of at most groupSize terms of one output; within each, the terms in
        // decreasing order of their top window, so that a window's pass stops at the first term
        // with nothing left to add (most scalars are small: their digits all sit in window 0)
        const gStart = [];
        const gOut = [];
        const terms_ = new Int32Array(nTerms);
        let nLive = 0;
        {
            let cur = -1;
            let cnt = 0;
            for (let i = 0; i < nTerms; i++) {
                const t = order[i];
                if (baseZero[base[t]]) continue;
                if (out[t] !== cur || cnt === groupSize) {
                    gStart.push(nLive);
                    gOut.push(out[t]);
                    cur = out[t];
                    cnt = 0;
                }
                // insertion into the group's run, by decreasing top window
                let p = nLive++;
                const tt = top[val[t]];
                while (p > gStart[gStart.length - 1] && top[val[terms_[p - 1]]] < tt) {
                    terms_[p] = terms_[p - 1];
                    p--;
                }
                terms_[p] = t;
                cnt++;
            }
            gStart.push(nLive);
        }
        const nG = gOut.length;
        const acc = this.alloc(Math.max(1, nG) * sz);
        const started = new Uint8Array(nG);
        const maxRounds = 2 * groupSize;
        const rAcc = new Int32Array(maxRounds * Math.max(1, nG));
        const rPtr = new Int32Array(maxRounds * Math.max(1, nG));
        const rNeg = new Uint8Array(maxRounds * Math.max(1, nG));
        const rLen = new Int32Array(maxRounds);
        let nDbl = 0;
        let nAdd = 0;

        for (let j = nW - 1; j >= 0; j--) {
            // c doublings of every started accumulator
            let m = 0;
            for (let g = 0; g < nG; g++) {
                if (!started[g]) continue;
                this.pA[m++] = acc + g * sz;
                if (m === cap) {
                    this.zDouble(G, m, c);
                    nDbl += m * c;
                    m = 0;
                }
            }
            this.zDouble(G, m, c);
            nDbl += m * c;
            // additions, round k holding the k-th addition of each accumulator in this window
            rLen.fill(0);
            let nRounds = 0;
            for (let g = 0; g < nG; g++) {
                let k = 0;
                for (let i = gStart[g]; i < gStart[g + 1]; i++) {
                    const t = terms_[i];
                    if (top[val[t]] < j) break;
                    const b = base[t];
                    const o = val[t] * 2 * nW + j;
                    const d1 = digits[o];
                    const d2 = digits[o + nW];
                    if (d1 !== 0) {
                        const r = k * nG + rLen[k]++;
                        rAcc[r] = g;
                        rPtr[r] = tabPtr[b] + ((d1 < 0 ? -d1 : d1) - 1) * sz;
                        rNeg[r] = d1 < 0 ? 1 : 0;
                        k++;
                    }
                    if (d2 !== 0) {
                        const r = k * nG + rLen[k]++;
                        rAcc[r] = g;
                        rPtr[r] = phiPtr[b] + ((d2 < 0 ? -d2 : d2) - 1) * sz;
                        rNeg[r] = d2 < 0 ? 1 : 0;
                        k++;
                    }
                }
                if (k > nRounds) nRounds = k;
            }
            for (let k = 0; k < nRounds; k++) {
                let mm = 0;
                const flush = () => {
                    this.zAdd(G, mm, true);
                    nAdd += mm;
                    for (let i = 0; i < mm; i++) if (this.inf[i]) started[(this.pA[i] - acc) / sz] = 0;
                    mm = 0;
                };
                const base0 = k * nG;
                for (let q = 0; q < rLen[k]; q++) {
                    const g = rAcc[base0 + q];
                    const a = acc + g * sz;
                    if (!started[g]) {
                        this.zCopyPoint(G, rPtr[base0 + q], a, rNeg[base0 + q]);
                        started[g] = 1;
                        continue;
                    }
                    this.pA[mm] = a;
                    this.pB[mm] = rPtr[base0 + q];
                    this.pF[mm] = rNeg[base0 + q];
                    mm++;
                    if (mm === cap) flush();
                }
                if (mm) flush();
            }
        }
        const tC = prof ? threadCpuMs() : 0;

        // sum the accumulators of each output (runs of consecutive groups), pairwise
        const runStart = [];
        for (let g = 0; g < nG; g++) if (g === 0 || gOut[g] !== gOut[g - 1]) runStart.push(g);
        runStart.push(nG);
        const nOut = runStart.length - 1;
        for (let step = 1; ; step *= 2) {
            let any = false;
            let mm = 0;
            const flush = () => {
                this.pF.fill(0, 0, mm);
                this.zAdd(G, mm, true);
                for (let i = 0; i < mm; i++) if (this.inf[i]) started[(this.pA[i] - acc) / sz] = 0;
                mm = 0;
            };
            for (let r = 0; r < nOut; r++) {
                const s0 = runStart[r];
                const s1 = runStart[r + 1];
                if (s1 - s0 <= step) continue;
                any = true;
                for (let g = s0; g + step < s1; g += 2 * step) {
                    const h = g + step;
                    if (!started[h]) continue;
                    if (!started[g]) {
                        u8().copyWithin(acc + g * sz, acc + h * sz, acc + (h + 1) * sz);
                        started[g] = 1;
                        continue;
                    }
                    this.pA[mm] = acc + g * sz;
                    this.pB[mm] = acc + h * sz;
                    mm++;
                    if (mm === cap) flush();
                }
            }
            if (mm) flush();
            if (!any) break;
        }
        const outs = new Int32Array(nOut);
        const pts = new Uint8Array(nOut * wsz);
        const wc = this.alloc(wsz);
        for (let r = 0; r < nOut; r++) {
            const g = runStart[r];
            outs[r] = gOut[g];
            if (!started[g]) continue;
            G.kzToWc(acc + g * sz, wc, 1);
            pts.set(u8().subarray(wc, wc + wsz), r * wsz);
        }
        this.release(mk);
        if (prof) {
            prof = prof["G" + G.g] = prof["G" + G.g] || {};
            prof.tables = (prof.tables || 0) + (tB - tA);
            prof.horner = (prof.horner || 0) + (tC - tB);
            prof.sum = (prof.sum || 0) + (threadCpuMs() - tC);
            prof.dbl = (prof.dbl || 0) + nDbl;
            prof.add = (prof.add || 0) + nAdd;
            prof.terms = (prof.terms || 0) + nTerms;
            prof.groups = (prof.groups || 0) + nG;
        }
        return { outs, pts };
    }
}

// CPU milliseconds of this thread (profiling only; the machine may be shared)
function threadCpuMs() {
    const f = require("fs").readFileSync("/proc/thread-self/stat", "utf8");
    const parts = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(parts[11]) + Number(parts[12])) * 10;
}

// Indices 0..n-1 ordered by out[i], ties in index order.
function sortByOutput(out, n) {
    const keys = new Float64Array(n);
    const SH = 2 ** 22;
    if (n >= SH) throw new Error("too many terms in one job");
    for (let i = 0; i < n; i++) keys[i] = out[i] * SH + i;
    keys.sort();
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = keys[i] % SH;
    return order;
}

module.exports = {
    SCALAR_BITS,
    Q,
    R,
    GLV_LAMBDA,
    GLV_HALF_BITS,
    bigToLE,
    leToBig,
    glvSplit,
    signedDigits,
    windowsFor,
    scalarTable,
    batchWasmPlugin,
    Engine,
};
