"""The append-only Merkle log over every evidence record (RFC 9162 tree hashing), its signed
checkpoints (C2SP tlog-checkpoint in the signed-note format, Ed25519) and their verification."""
