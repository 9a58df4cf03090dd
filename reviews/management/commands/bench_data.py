"""`manage.py bench_data --cases N`: fill a fresh PostgreSQL database for `make bench` (issue #7)."""

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reviews.bench_data import CHUNK_SIZE, DEFAULT_PASSWORD, DEFAULT_SEED, BenchDataRefused, bench_data_load


class Command(BaseCommand):
    help = (
        "Load hospital 'bench' into a fresh PostgreSQL database with COPY: 50 doctors, ~N/10 patients, "
        "N cases with messages and decisions, ~N/1000 appointments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=int, required=True, help="How many cases to load.")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Seed of the random choices.")
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, help="Cases per COPY round.")

    def handle(self, *args: Any, cases: int, seed: int, chunk_size: int, **options: Any) -> None:
        password = os.environ.get("BENCH_PASSWORD") or DEFAULT_PASSWORD
        try:
            result = bench_data_load(
                cases=cases, seed=seed, password=password, chunk_size=max(1, chunk_size), progress=self.stdout.write
            )
        except BenchDataRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        counts = ", ".join(f"{count:,} {name}" for name, count in result.counts.items())
        self.stdout.write(f"Loaded {counts}.")
        self.stdout.write(
            f"{result.rows:,} rows in {result.seconds:.1f}s ({result.rows / max(result.seconds, 1e-9):,.0f} rows/s). "
            "Sign in as doctor01@bench.example … doctor50@bench.example or admin@bench.example "
            + ("with the password in BENCH_PASSWORD." if password != DEFAULT_PASSWORD else f"with {DEFAULT_PASSWORD}.")
        )
