// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title GasMeter
/// @notice Measures the gas of one call from inside the EVM, for the benchmarks: a transaction's
///         gasUsed cannot show a callee's few hundred gas under Prague's calldata floor (EIP-7623).
/// @dev `measure` counts the CALL and everything the callee runs. Measuring the same data sent
///      to an account without code gives the CALL alone, so the difference is the callee's own
///      execution (both cold or both warm, same memory: the opcode sequence is identical).
contract GasMeter {
    function measure(address target, bytes calldata data) external returns (uint256 used, bool success) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, data.offset, data.length)
            let before := gas()
            success := call(gas(), target, 0, ptr, data.length, 0, 0)
            used := sub(before, gas())
        }
    }
}
