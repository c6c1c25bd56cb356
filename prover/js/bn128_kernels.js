"use strict";
/*
 * bn128_kernels.js: batched affine point kernels for G1 and G2 of BN254, generated as wasm
 * functions (through wasmbuilder's code builder, which buildBn128's plugin hook hands over) on
 * top of one field implementation:
 *
 *   <g>_batchAdd(pA, pB, pO, pF, m, pDen, pNrm, pInv)
 *        for i < m, with a = A[i], b = B[i], o = O[i] (i32 pointers to affine points) and
 *        s = -1 if (F[i] & 1) else +1: o = a + s*b by the affine formulas, the m inversions
 *        batched into one. Where x_a == x_b (a doubling, or a sum at infinity) nothing is
 *        written and F[i] |= 2: the caller finishes those with complete formulas. o may be a.
 *   <g>_batchDouble(pA, m, times, pDen, pNrm, pInv)   A[i] = 2^times A[i], in place; no A[i] may
 *        be at infinity (y = 0 does not occur on these prime-order groups otherwise)
 *   <g>_phi(pIn, pOut, m)     the GLV endomorphism (x, y) -> (beta*x, y); in place allowed
 *   <g>_neg(p, r)             r = -p
 *
 * pDen: m elements of the coordinate field (Fq or Fq2), pNrm / pInv: m elements of Fq. In G2 an
 * Fq2 denominator d0 + d1*u (u^2 = -1) is inverted through its norm d0^2 + d1^2 in Fq, so that
 * the one batched inversion is always over Fq.
 *
 * A field is { tag, fq, fq2, n8, encode, batchInverse }: the names of its Fq and Fq2 functions
 * (<fq>_mul, _square, _add, _sub, _neg, _copy, _isZero), the bytes of one Fq element, the
 * encoding of a constant, and the code of a batched Fq inversion of m distinct non-zero elements.
 * The kernels of field tag t are g1t_* and g2t_*.
 */

// for (i = 0; i < m; i++) body, over the locals "i" and "m"
function forEach(c, body) {
    return [
        ...c.setLocal("i", c.i32_const(0)),
        ...c.block(
            c.loop(
                c.br_if(1, c.i32_eq(c.getLocal("i"), c.getLocal("m"))),
                ...body,
                c.setLocal("i", c.i32_add(c.getLocal("i"), c.i32_const(1))),
                c.br(0)
            )
        ),
    ];
}

function bytesOf(...parts) {
    const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
        out.set(p, o);
        o += p.length;
    }
    return out;
}

/*
 * The kernels of one group on one field: g = 1 (coordinates in Fq) or 2 (in Fq2).
 */
class GroupKernels {
    constructor(module, field, g, betaG) {
        this.module = module;
        this.field = field;
        this.g = g;
        this.E = field.n8; // one Fq element
        this.n = g === 1 ? field.n8 : 2 * field.n8; // one coordinate
        this.fp = g === 1 ? field.fq : field.fq2;
        this.pfx = `g${g}${field.tag}`;
        const one = field.encode(1n);
        this.pOne = module.alloc(g === 1 ? one : bytesOf(one, field.encode(0n)));
        this.pBeta = module.alloc(field.encode(betaG));
    }

    call(c, fn, ...args) {
        return c.call(`${this.fp}_${fn}`, ...args);
    }

    fq(c, fn, ...args) {
        return c.call(`${this.field.fq}_${fn}`, ...args);
    }

    static elem(c, base, size) {
        return c.i32_add(c.getLocal(base), c.i32_mul(c.getLocal("i"), c.i32_const(size)));
    }

    // phase 1 of both kernels: den[i] (already written) -> pInv[i] = 1/den[i] (Fq) or, in G2,
    // pNrm[i] = norm(den[i]) and pInv[i] = 1/norm
    invertDens(c) {
        const L = (l) => c.getLocal(l);
        const E = this.E;
        if (this.g === 1) return this.field.batchInverse(c, L("pDen"), L("pInv"), L("m"));
        const T = c.i32_const(this.module.alloc(E));
        const nrm = () => GroupKernels.elem(c, "pNrm", E);
        const d1 = () => c.i32_add(L("den"), c.i32_const(E));
        return [
            ...forEach(c, [
                ...c.setLocal("den", GroupKernels.elem(c, "pDen", this.n)),
                ...this.fq(c, "mul", L("den"), L("den"), nrm()),
                ...this.fq(c, "mul", d1(), d1(), T),
                ...this.fq(c, "add", nrm(), T, nrm()),
            ]),
            ...this.field.batchInverse(c, L("pNrm"), L("pInv"), L("m")),
        ];
    }

    // sets local "inv" to the pointer of 1/den[i] in the coordinate field
    inverseOf(c, INV) {
        const L = (l) => c.getLocal(l);
        const E = this.E;
        const inv = () => GroupKernels.elem(c, "pInv", E);
        if (this.g === 1) return c.setLocal("inv", inv());
        return [
            ...c.setLocal("den", GroupKernels.elem(c, "pDen", this.n)),
            ...c.setLocal("inv", c.i32_const(INV)),
            ...this.fq(c, "mul", L("den"), inv(), c.i32_const(INV)),
            ...this.fq(c, "mul", c.i32_add(L("den"), c.i32_const(E)), inv(), c.i32_const(INV + E)),
            ...this.fq(c, "neg", c.i32_const(INV + E), c.i32_const(INV + E)),
        ];
    }

    // scratch coordinates of one kernel
    scratch() {
        const n = this.n;
        const m = this.module;
        return { NUM: m.alloc(n), LAM: m.alloc(n), X3: m.alloc(n), T: m.alloc(n), INV: m.alloc(n) };
    }

    buildBatchAdd() {
        const f = this.module.addFunction(this.pfx + "_batchAdd");
        for (const p of ["pA", "pB", "pO", "pF", "m", "pDen", "pNrm", "pInv"]) f.addParam(p, "i32");
        for (const l of ["i", "a", "b", "o", "fl", "den", "inv"]) f.addLocal(l, "i32");
        const c = f.getCodeBuilder();
        const L = (l) => c.getLocal(l);
        const K = (p) => c.i32_const(p);
        const n = this.n;
        const slot = (arr) => c.i32_add(L(arr), c.i32_shl(L("i"), c.i32_const(2)));
        f.addCode(
            ...forEach(c, [
                ...c.setLocal("den", GroupKernels.elem(c, "pDen", n)),
                ...this.call(c, "sub", c.i32_load(slot("pB")), c.i32_load(slot("pA")), L("den")),
                ...c.if(this.call(c, "isZero", L("den")), [
                    ...c.i32_store(slot("pF"), c.i32_or(c.i32_load(slot("pF")), c.i32_const(2))),
                    ...this.call(c, "copy", K(this.pOne), L("den")),
                ]),
            ]),
            ...this.invertDens(c),
            ...forEach(c, [
                ...c.setLocal("fl", c.i32_load(slot("pF"))),
                ...c.if(c.i32_eqz(c.i32_and(L("fl"), c.i32_const(2))), [
                    ...c.setLocal("a", c.i32_load(slot("pA"))),
                    ...c.setLocal("b", c.i32_load(slot("pB"))),
                    ...c.setLocal("o", c.i32_load(slot("pO"))),
                    ...this.addOne(c),
                ]),
            ])
        );
        this.module.exportFunction(this.pfx + "_batchAdd");
    }

    // o = a +- b, given inv = 1/(x_b - x_a)
    addOne(c) {
        const L = (l) => c.getLocal(l);
        const K = (p) => c.i32_const(p);
        const { NUM, LAM, X3, T, INV } = this.scratch();
        const n = this.n;
        const a = L("a");
        const b = L("b");
        const ya = c.i32_add(L("a"), c.i32_const(n));
        const yb = c.i32_add(L("b"), c.i32_const(n));
        const call = (...args) => this.call(c, ...args);
        return [
            ...this.inverseOf(c, INV),
            ...c.if(
                c.i32_and(L("fl"), c.i32_const(1)),
                [
                    // lambda' = (y_b + y_a)/(x_b - x_a) = -lambda; y3 = lambda'(x3 - x_a) - y_a
                    ...call("add", yb, ya, K(NUM)),
                    ...call("mul", K(NUM), L("inv"), K(LAM)),
                    ...call("square", K(LAM), K(X3)),
                    ...call("sub", K(X3), a, K(X3)),
                    ...call("sub", K(X3), b, K(X3)),
                    ...call("sub", K(X3), a, K(T)),
                ],
                [
                    // lambda = (y_b - y_a)/(x_b - x_a); y3 = lambda(x_a - x3) - y_a
                    ...call("sub", yb, ya, K(NUM)),
                    ...call("mul", K(NUM), L("inv"), K(LAM)),
                    ...call("square", K(LAM), K(X3)),
                    ...call("sub", K(X3), a, K(X3)),
                    ...call("sub", K(X3), b, K(X3)),
                    ...call("sub", a, K(X3), K(T)),
                ]
            ),
            ...call("mul", K(LAM), K(T), K(T)),
            ...call("sub", K(T), ya, c.i32_add(L("o"), c.i32_const(n))),
            ...call("copy", K(X3), L("o")),
        ];
    }

    buildBatchDouble() {
        const f = this.module.addFunction(this.pfx + "_batchDouble");
        for (const p of ["pA", "m", "times", "pDen", "pNrm", "pInv"]) f.addParam(p, "i32");
        for (const l of ["i", "t", "a", "den", "inv"]) f.addLocal(l, "i32");
        const c = f.getCodeBuilder();
        const L = (l) => c.getLocal(l);
        const K = (p) => c.i32_const(p);
        const n = this.n;
        const { NUM, LAM, X3, T, INV } = this.scratch();
        const slot = (arr) => c.i32_add(L(arr), c.i32_shl(L("i"), c.i32_const(2)));
        const a = L("a");
        const ya = c.i32_add(L("a"), c.i32_const(n));
        const call = (...args) => this.call(c, ...args);
        const round = [
            ...forEach(c, [...c.setLocal("a", c.i32_load(slot("pA"))), ...call("add", ya, ya, GroupKernels.elem(c, "pDen", n))]),
            ...this.invertDens(c),
            ...forEach(c, [
                ...c.setLocal("a", c.i32_load(slot("pA"))),
                ...this.inverseOf(c, INV),
                // lambda = 3x^2 / 2y; x3 = lambda^2 - 2x; y3 = lambda(x - x3) - y
                ...call("square", a, K(T)),
                ...call("add", K(T), K(T), K(NUM)),
                ...call("add", K(NUM), K(T), K(NUM)),
                ...call("mul", K(NUM), L("inv"), K(LAM)),
                ...call("square", K(LAM), K(X3)),
                ...call("sub", K(X3), a, K(X3)),
                ...call("sub", K(X3), a, K(X3)),
                ...call("sub", a, K(X3), K(T)),
                ...call("mul", K(LAM), K(T), K(T)),
                ...call("sub", K(T), ya, ya),
                ...call("copy", K(X3), a),
            ]),
        ];
        f.addCode(
            ...c.setLocal("t", c.i32_const(0)),
            ...c.block(
                c.loop(
                    c.br_if(1, c.i32_ge_u(L("t"), L("times"))),
                    ...round,
                    c.setLocal("t", c.i32_add(L("t"), c.i32_const(1))),
                    c.br(0)
                )
            )
        );
        this.module.exportFunction(this.pfx + "_batchDouble");
    }

    buildPhi() {
        const f = this.module.addFunction(this.pfx + "_phi");
        for (const p of ["pIn", "pOut", "m"]) f.addParam(p, "i32");
        f.addLocal("i", "i32");
        f.addLocal("s", "i32");
        f.addLocal("d", "i32");
        const c = f.getCodeBuilder();
        const L = (l) => c.getLocal(l);
        const { n, E } = this;
        const beta = c.i32_const(this.pBeta);
        const body = [
            ...c.setLocal("s", c.i32_add(L("pIn"), c.i32_mul(L("i"), c.i32_const(2 * n)))),
            ...c.setLocal("d", c.i32_add(L("pOut"), c.i32_mul(L("i"), c.i32_const(2 * n)))),
            ...this.fq(c, "mul", L("s"), beta, L("d")),
            ...(this.g === 2 ? this.fq(c, "mul", c.i32_add(L("s"), c.i32_const(E)), beta, c.i32_add(L("d"), c.i32_const(E))) : []),
            ...this.call(c, "copy", c.i32_add(L("s"), c.i32_const(n)), c.i32_add(L("d"), c.i32_const(n))),
        ];
        f.addCode(...forEach(c, body));
        this.module.exportFunction(this.pfx + "_phi");
    }

    buildNeg() {
        const f = this.module.addFunction(this.pfx + "_neg");
        f.addParam("p", "i32");
        f.addParam("r", "i32");
        const c = f.getCodeBuilder();
        const off = (l) => c.i32_add(c.getLocal(l), c.i32_const(this.n));
        f.addCode(...this.call(c, "copy", c.getLocal("p"), c.getLocal("r")), ...this.call(c, "neg", off("p"), off("r")));
        this.module.exportFunction(this.pfx + "_neg");
    }
}

// All kernels of both groups on one field; betaG1 / betaG2: the endomorphism's constants.
function addPointKernels(module, field, betaG1, betaG2) {
    for (const [g, beta] of [[1, betaG1], [2, betaG2]]) {
        const k = new GroupKernels(module, field, g, beta);
        k.buildBatchAdd();
        k.buildBatchDouble();
        k.buildPhi();
        k.buildNeg();
    }
}

module.exports = { addPointKernels, forEach };
