// Answers a batch of cryptographic requests with circomlibjs and blake-hash, the references
// that statesync/ must match. One node process per batch: circomlibjs takes about a second to
// build its WebAssembly, which would dominate if paid per vector.
//
// stdin:  a JSON array of requests; field elements and scalars are decimal strings, bytes hex.
//   {op: "poseidon", inputs: [..], impl?: "wasm" | "reference" | "opt"}   -> "h"
//   {op: "babyjub_add", a: [x, y], b: [x, y]}                           -> [x, y]
//   {op: "babyjub_mul", point: [x, y], scalar: "k"}                     -> [x, y]
//   {op: "babyjub_check", point: [x, y]}                                -> {onCurve, inSubgroup}
//   {op: "babyjub_params"}                    -> {generator, base8, order, subOrder, a, d}
//   {op: "prv2pub", key: "hex"}                                         -> [x, y]
//   {op: "sign", key: "hex", msg: "m"}                                  -> {r8: [x, y], s: "s"}
//   {op: "verify", pub: [x, y], msg: "m", sig: {r8: [x, y], s: "s"}}    -> true | false
//   {op: "blake512", data: "hex"}                                       -> "hex"
//   {op: "merkle_root", leaves: [..], depth: n}                         -> "root"
//     (the textbook full tree: leaves padded with 0 to 2^depth, every node hashed; small depths)
// stdout: the JSON array of answers, in request order. Any failure exits non-zero.
"use strict";

const {
    buildPoseidon,
    buildPoseidonReference,
    buildPoseidonOpt,
    buildBabyjub,
    buildEddsa,
} = require("circomlibjs");
const createBlakeHash = require("blake-hash");

function readStdin() {
    return new Promise((resolve, reject) => {
        const chunks = [];
        process.stdin.on("data", (chunk) => chunks.push(chunk));
        process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        process.stdin.on("error", reject);
    });
}

function merkleRoot(poseidon, leaves, depth) {
    if (depth > 12) throw new Error("merkle_root builds the full tree: keep depth <= 12");
    let level = Array.from({ length: 2 ** depth }, (_, i) => BigInt(i < leaves.length ? leaves[i] : 0));
    for (let height = 0; height < depth; height++) {
        const next = [];
        for (let k = 0; k < level.length; k += 2) {
            next.push(poseidon.F.toObject(poseidon([level[k], level[k + 1]])));
        }
        level = next;
    }
    return level[0].toString();
}

async function main() {
    const requests = JSON.parse(await readStdin());
    if (!Array.isArray(requests)) throw new Error("stdin must hold a JSON array of requests");

    const needs = new Set(requests.map((r) => r.op));
    const wantsPoseidon = (impl) =>
        requests.some(
            (r) => (r.op === "poseidon" && (r.impl || "wasm") === impl) ||
                (r.op === "merkle_root" && impl === "wasm"),
        );
    const poseidons = {
        wasm: wantsPoseidon("wasm") ? await buildPoseidon() : null,
        reference: wantsPoseidon("reference") ? await buildPoseidonReference() : null,
        opt: wantsPoseidon("opt") ? await buildPoseidonOpt() : null,
    };
    const babyJub = await buildBabyjub();
    const eddsa = ["prv2pub", "sign", "verify"].some((op) => needs.has(op))
        ? await buildEddsa()
        : null;
    const F = babyJub.F;

    const toPoint = (p) => [F.e(BigInt(p[0])), F.e(BigInt(p[1]))];
    const fromPoint = (p) => [F.toObject(p[0]).toString(), F.toObject(p[1]).toString()];

    const answer = (req) => {
        switch (req.op) {
            case "poseidon": {
                const hash = poseidons[req.impl || "wasm"];
                if (!hash) throw new Error(`unknown poseidon impl ${req.impl}`);
                return hash.F.toObject(hash(req.inputs.map((x) => BigInt(x)))).toString();
            }
            case "babyjub_add":
                return fromPoint(babyJub.addPoint(toPoint(req.a), toPoint(req.b)));
            case "babyjub_mul":
                return fromPoint(babyJub.mulPointEscalar(toPoint(req.point), BigInt(req.scalar)));
            case "babyjub_check": {
                const p = toPoint(req.point);
                return { onCurve: babyJub.inCurve(p), inSubgroup: babyJub.inSubgroup(p) };
            }
            case "babyjub_params":
                return {
                    generator: fromPoint(babyJub.Generator),
                    base8: fromPoint(babyJub.Base8),
                    order: babyJub.order.toString(),
                    subOrder: babyJub.subOrder.toString(),
                    a: F.toObject(babyJub.A).toString(),
                    d: F.toObject(babyJub.D).toString(),
                };
            case "merkle_root":
                return merkleRoot(poseidons.wasm, req.leaves, req.depth);
            case "prv2pub":
                return fromPoint(eddsa.prv2pub(Buffer.from(req.key, "hex")));
            case "sign": {
                // The message must be a field element: signPoseidon sizes its buffer by its length.
                const sig = eddsa.signPoseidon(Buffer.from(req.key, "hex"), F.e(BigInt(req.msg)));
                return { r8: fromPoint(sig.R8), s: sig.S.toString() };
            }
            case "verify": {
                const sig = { R8: toPoint(req.sig.r8), S: BigInt(req.sig.s) };
                return eddsa.verifyPoseidon(F.e(BigInt(req.msg)), sig, toPoint(req.pub));
            }
            case "blake512":
                return createBlakeHash("blake512")
                    .update(Buffer.from(req.data, "hex"))
                    .digest("hex");
            default:
                throw new Error(`unknown op ${JSON.stringify(req.op)}`);
        }
    };

    const output = JSON.stringify(requests.map(answer));
    // Exit only once the pipe has taken all of it: stdout to a pipe is asynchronous in node,
    // and circomlibjs's worker threads would otherwise keep the process alive.
    await new Promise((resolve) => process.stdout.write(output, resolve));
}

main().then(
    () => process.exit(0),
    (err) => {
        process.stderr.write(`${err.stack || err}\n`);
        process.exit(1);
    },
);
