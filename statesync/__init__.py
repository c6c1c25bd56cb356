"""Protocol core: field, hashes, signatures, Merkle trees and the StateSync data model."""
