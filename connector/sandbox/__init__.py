"""Simulated RxScale and Empower servers, following docs/partners.md, for demo, tests and
benchmarks."""
