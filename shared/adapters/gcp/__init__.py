"""Google Cloud adapters: the real client libraries, pointed at emulators locally and at Google in production."""
