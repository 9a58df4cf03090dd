"""One module per scenario; each has `run(bench: Bench) -> list[Measure]` (see bench.core)."""
