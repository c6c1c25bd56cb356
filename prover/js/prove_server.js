// A warm prover: one long-lived node process per circuit key that computes witnesses and proves many.
// usage: node prove_server.js --wasm main.wasm --zkey circuit.zkey [--backend fast|snarkjs] [--threads N]
// Prints "@@ready {json}" once the key and the witness calculator are loaded, then answers one line per
// stdin job {"id": n, "input": {...}, "dir": path}: it writes proof.json and public.json (snarkjs's
// formats) into dir and prints "@@done {json}": {"id", "ok": true, "seconds": {"witness", "prove"}} or
// {"id", "ok": false, "stage": "input"|"witness"|"prove", "error"}. circom's log() output may be
// interleaved on stdout, hence the markers. Exits when stdin closes.
"use strict";
const fs = require("fs");
const path = require("path");
const readline = require("readline");

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { backend: "snarkjs", threads: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (flag === "--wasm") opts.wasm = value;
    else if (flag === "--zkey") opts.zkey = value;
    else if (flag === "--backend") opts.backend = value;
    else if (flag === "--threads") opts.threads = Number(value);
    else throw new UsageError(`unknown option ${flag}`);
  }
  if (!opts.wasm || !opts.zkey) throw new UsageError("--wasm and --zkey are required");
  if (!Object.hasOwn(BACKENDS, opts.backend)) throw new UsageError(`unknown backend ${opts.backend}`);
  if (!Number.isInteger(opts.threads) || opts.threads < 0 || opts.threads > 256) {
    throw new UsageError("--threads must be an integer from 0 (all cores) to 256");
  }
  return opts;
}

// Each backend: load once, then prove(wtns Uint8Array) -> {proof, publicSignals}.
async function snarkjsBackend(zkeyPath, threads) {
  const snarkjs = require("snarkjs");
  // In memory: snarkjs re-parses the sections per proof but reads no file and starts no node.
  const zkey = new Uint8Array(fs.readFileSync(zkeyPath));
  const options = { singleThread: threads === 1 };
  return {
    prove: (wtns) => snarkjs.groth16.prove(zkey, wtns, undefined, options),
    close: async () => {},
  };
}

// This project's engine (groth16_fast.js): the key's points live in its worker threads' wasm memory.
async function fastBackend(zkeyPath, threads) {
  const engine = require("./groth16_fast.js");
  const key = await engine.loadKey(zkeyPath, { threads: threads || undefined });
  return {
    prove: (wtns) => engine.prove(key, wtns),
    close: () => engine.closeKey(key),
  };
}

const BACKENDS = { snarkjs: snarkjsBackend, fast: fastBackend };

function writeAtomically(target, text) {
  const tmp = `${target}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, target);
}

function answer(marker, value) {
  process.stdout.write(`@@${marker} ${JSON.stringify(value)}\n`);
}

async function runJob(job, witnesses, backend) {
  const t0 = process.hrtime.bigint();
  let wtns;
  try {
    wtns = await witnesses.calculator.calculateWTNSBin(job.input, 0);
  } catch (err) {
    // circom's calculator appends every failed assert's message to one string it never clears:
    // a fresh instance keeps this failure's message from naming the previous one's template.
    witnesses.calculator = await witnesses.build();
    return { id: job.id, ok: false, stage: "witness", error: String((err && err.message) || err) };
  }
  const t1 = process.hrtime.bigint();
  let proof, publicSignals;
  try {
    ({ proof, publicSignals } = await backend.prove(wtns));
  } catch (err) {
    if (err && err.code === "G16_KEY_DEAD") {
      // Unanswered, on purpose: the owner sees the process die, starts a fresh one and retries the job once.
      console.error(`prove_server: ${err.message}`);
      process.exit(70);
    }
    return { id: job.id, ok: false, stage: "prove", error: String((err && err.stack) || err) };
  }
  const t2 = process.hrtime.bigint();
  writeAtomically(path.join(job.dir, "proof.json"), JSON.stringify(proof, null, 1));
  writeAtomically(path.join(job.dir, "public.json"), JSON.stringify(publicSignals, null, 1));
  const s = (a, b) => Number(b - a) / 1e9;
  return { id: job.id, ok: true, seconds: { witness: s(t0, t1), prove: s(t1, t2) } };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = process.hrtime.bigint();
  const builder = require(path.resolve(path.dirname(opts.wasm), "witness_calculator.js"));
  const code = fs.readFileSync(opts.wasm);
  const witnesses = { build: () => builder(code) };
  witnesses.calculator = await witnesses.build();
  const backend = await BACKENDS[opts.backend](opts.zkey, opts.threads);
  answer("ready", { backend: opts.backend, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let job;
    try {
      job = JSON.parse(line);
      if (typeof job.dir !== "string" || typeof job.input !== "object" || job.input === null) {
        throw new Error("a job needs an input object and a dir");
      }
    } catch (err) {
      answer("done", { id: job && job.id, ok: false, stage: "input", error: String(err.message || err) });
      continue;
    }
    answer("done", await runJob(job, witnesses, backend));
  }
  await backend.close();
}

main().then(
  () => process.exit(0), // snarkjs leaves curve worker threads alive
  (err) => {
    console.error(err instanceof UsageError ? `prove_server: ${err.message}` : (err && err.stack) || String(err));
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
