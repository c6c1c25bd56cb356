"""Solidity on local chains: the pinned solc-js build, py-evm and anvil backends, deploy helpers.

`solc` compiles bridge/contracts (and snarkjs-generated verifiers) with a pinned EVM version,
cached by content hash; `chains` opens a py-evm or an anvil chain behind one interface;
`deploy` sends transactions and calls with typed receipts and decoded custom errors;
"""
