"""Simulated RxScale and Empower servers, following CONTRACT.md, for demo, tests and bench."""
