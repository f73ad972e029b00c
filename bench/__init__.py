"""Benchmarks: the service against the engine doing the same work directly, in the same run."""
