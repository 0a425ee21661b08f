"""AWS adapters: S3 Object Lock as a second WORM evidence backend (and moto-backed proof of write-once behaviour)."""
