// Compute circom witnesses for a batch of inputs with one WebAssembly instance.
// usage: node witness.js <circuit_js dir> < jobs.json, where jobs.json is [{"input": path, "output": path}, ...]
// Prints one "@@witness {json}" line per job (circom log() output may be interleaved): {"ok": true} or {"ok": false, "error": "..."}; exits 0 unless the
// batch itself could not run. Reusing the instance avoids node start-up and wasm compilation per job.
"use strict";
const fs = require("fs");
const path = require("path");

async function main() {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: node witness.js <circuit_js dir> < jobs.json");
    process.exit(2);
  }
  const builder = require(path.resolve(dir, "witness_calculator.js"));
  const wasm = fs.readFileSync(path.resolve(dir, "main.wasm"));
  const jobs = JSON.parse(fs.readFileSync(0, "utf8"));
  let calculator = await builder(wasm);
  for (const job of jobs) {
    try {
      const input = JSON.parse(fs.readFileSync(job.input, "utf8"));
      const wtns = await calculator.calculateWTNSBin(input, 0);
      const tmp = `${job.output}.tmp-${process.pid}`;
      fs.writeFileSync(tmp, wtns);
      fs.renameSync(tmp, job.output);
      process.stdout.write("@@witness " + JSON.stringify({ ok: true }) + "\n");
    } catch (err) {
      process.stdout.write("@@witness " + JSON.stringify({ ok: false, error: String(err && err.message || err) }) + "\n");
      calculator = await builder(wasm); // its error text accumulates across failures: start clean
    }
  }
}

main().catch((err) => {
  console.error(err && err.stack || String(err));
  process.exit(1);
});
