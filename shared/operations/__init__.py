"""Operations on a whole deployment: dead-letter replay, backups and restore, rebuilding the
warehouse from the stored raw payloads. Each works through the ports, so on every backend."""
