"""Benchmark suite: a synthetic portfolio generator and a runner over real HTTP (see run.py)."""
