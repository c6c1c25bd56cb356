// Compile Solidity with the pinned solc-js through its standard-JSON interface.
// usage: node solc_compile.js < input.json; prints {"version": ..., "output": <standard JSON output>}.
// Standard JSON is the only way to pin the EVM version (the solcjs CLI has no --evm-version).
// Every source must be in the input: imports are not read from disk, so the build key (a hash
// of the input) covers everything that went into the bytecode.
"use strict";
const fs = require("fs");
const solc = require("solc");

function refuseImport(path) {
  return { error: `import ${path} is not among the sources given to the compiler` };
}

const input = fs.readFileSync(0, "utf8");
const output = JSON.parse(solc.compile(input, { import: refuseImport }));
process.stdout.write(JSON.stringify({ version: solc.version(), output }));
