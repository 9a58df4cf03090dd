"""Case bodies as the avatar platform sends them, for the bench hospital's doctors."""

import json
import random
import secrets

from bench.portal_access import bench_doctors
from reviews.management.commands.simulate_avatar import CaseWriter


def case_writer(seed: int = 7) -> CaseWriter:
    doctors = [
        {"licence_number": d.doctor_profile.licence_number, "specialty": d.doctor_profile.specialty}
        for d in bench_doctors()
    ]
    return CaseWriter(doctors=doctors, rng=random.Random(seed), run_id=secrets.token_hex(4), follow_up_share=0.0)


def case_bodies(writer: CaseWriter, count: int) -> list[dict]:
    """`count` new cases (unique external ids: each is a real insert, never a replay)."""
    return [writer.case()[0] for _ in range(count)]


def api_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def dumps(body: object) -> str:
    return json.dumps(body, ensure_ascii=False)
