"""The training engine: fit() and what it is built from (no files, no processes, no UI)."""
