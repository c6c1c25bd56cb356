// Prove inputs of snarkjs circuits in one long-lived node process.
// usage: node groth16_prove.js, then one job per stdin line: {"wasm": path, "zkey": path, "inputs": [{...}, ...]};
// answers one stdout line per job: {"results": [{"proof": ..., "publicSignals": [...]}, ...]} or {"error": "..."}.
// Node start-up and snarkjs's curve set-up cost ~1 s, a tiny circuit's proof ~50 ms: pay the first once.
"use strict";
const fs = require("fs");
const readline = require("readline");
const snarkjs = require("snarkjs");

const files = new Map();
function load(path) {
  if (!files.has(path)) files.set(path, new Uint8Array(fs.readFileSync(path)));
  return files.get(path);
}

async function prove(job) {
  const results = [];
  for (const input of job.inputs) {
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(input, load(job.wasm), load(job.zkey));
    results.push({ proof, publicSignals });
  }
  return results;
}

async function main() {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let answer;
    try {
      answer = { results: await prove(JSON.parse(line)) };
    } catch (err) {
      answer = { error: String((err && err.stack) || err) };
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
  }
}

main().then(
  () => process.exit(0), // stdin closed; snarkjs leaves curve worker threads alive
  (err) => {
    console.error((err && err.stack) || String(err));
    process.exit(1);
  },
);
