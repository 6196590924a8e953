"""Benchmarks: each module here has `run(env: BenchEnv) -> list[str]` printing ratio lines."""
