"""Known failures of the torch-database conformance run (filled in below)."""

KNOWN_FAILURES: dict[str, str] = {}
