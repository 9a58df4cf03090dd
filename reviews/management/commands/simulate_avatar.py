"""`manage.py simulate_avatar --hospital SLUG --rate N --duration S`: the avatar platform, simulated.

Posts realistic cases (the demo's conversations, in English and Simplified Chinese, for the
hospital's own doctors, from a pool of recurring patients) and follow-up messages on the
cases it created, through the real HTTP API of a running portal, for demos and load tests.
It prints what it sent and how fast the portal answered.

Pacing is open-loop: sends are scheduled at the rate whatever the answers take, so a slow
portal shows up as latency and as sends that start late, not as a quietly lower rate.
Only the content is seeded (`--seed`); external ids are new every run.
"""

import http.client
import json
import os
import queue
import random
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Hospital
from accounts.services import api_client_create
from reviews.demo_content import PATIENTS, SCENARIOS, DemoPatient, Scenario

API = "/api/v1"
SCOPES = ["cases:read", "cases:write"]
# Follow-ups on a case the platform has already ingested, when the story has none of its own.
FOLLOW_UPS = {
    "en": (
        "Thank you. Is there anything else I should watch out for?",
        "It is a little better today, thank you.",
        "Should I book an appointment this week?",
    ),
    "zh-hans": ("谢谢医生。还有什么需要注意的吗？", "今天好一点了，谢谢。", "这周需要预约门诊吗？"),
}


@dataclass
class Job:
    """One request the simulator will send, at `due` (seconds on the monotonic clock)."""

    kind: str  # "case", "batch" or "follow_up"
    method: str
    path: str
    body: dict
    due: float
    # Per case in the body: its number of messages, and (delay, text) of its follow-up or None.
    cases: list[tuple[int, tuple[float, str] | None]] = field(default_factory=list)


@dataclass
class Tally:
    """What was sent and answered; shared by the worker threads under `lock`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: Counter = field(default_factory=Counter)  # (kind, status class) -> count
    statuses: Counter = field(default_factory=Counter)
    cases: Counter = field(default_factory=Counter)  # created / existing / refused
    ingested_messages: int = 0
    follow_ups_added: int = 0
    latencies: list = field(default_factory=list)
    max_lag: float = 0.0
    started: float = 0.0
    last_answer: float = 0.0
    follow_ups_unsent: int = 0


class Portal:
    """One keep-alive HTTP connection to the portal's API (one per thread)."""

    def __init__(self, base_url: str, token: str, timeout: float):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CommandError(f"--base-url must be like http://127.0.0.1:8000, not {base_url!r}.")
        connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self.prefix = parts.path.rstrip("/")
        self.connection = connection_class(parts.hostname, parts.port, timeout=timeout)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def send(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """(status, JSON answer); status 0 when no answer came (refused, reset, timed out)."""
        payload = json.dumps(body).encode() if body is not None else None
        try:
            status, raw = self._exchange(method, path, payload)
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            if isinstance(error, ConnectionRefusedError | TimeoutError):
                return 0, {"message": str(error) or type(error).__name__}
            # The server may have closed the idle keep-alive connection: one more try on a new one.
            try:
                status, raw = self._exchange(method, path, payload)
            except (OSError, http.client.HTTPException) as error:
                self.connection.close()
                return 0, {"message": str(error) or type(error).__name__}
        try:
            return status, json.loads(raw or b"{}")
        except ValueError:
            return status, {"message": raw[:200].decode(errors="replace")}

    def _exchange(self, method: str, path: str, payload: bytes | None) -> tuple[int, bytes]:
        self.connection.request(method, self.prefix + path, body=payload, headers=self.headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.connection.close()


class CaseWriter:
    """Realistic case bodies for the hospital's doctors, from a seeded random generator."""

    def __init__(self, *, doctors: list[dict], rng: random.Random, run_id: str, follow_up_share: float):
        self.rng = rng
        self.run_id = run_id
        self.follow_up_share = follow_up_share
        self.count = 0
        by_specialty: dict[str, list[dict]] = {}
        for doctor in doctors:
            by_specialty.setdefault(doctor["specialty"], []).append(doctor)
        stories = {p.ref: [s for s in SCENARIOS if s.fits(p)] for p in PATIENTS}
        # Patients whose specialty the hospital has; any doctor of its if it has none of the demo's.
        self.patients = [p for p in PATIENTS if stories[p.ref] and p.specialty in by_specialty]
        self.doctors_for = {p.ref: by_specialty.get(p.specialty, doctors) for p in PATIENTS}
        if not self.patients:
            self.patients = [p for p in PATIENTS if stories[p.ref]]
        self.stories = stories

    def case(self) -> tuple[dict, tuple[float, str] | None]:
        """A case body, and (delay, text) of a follow-up to send once it is stored, or None."""
        self.count += 1
        patient = self.rng.choice(self.patients)
        scenario = self.rng.choice(self.stories[patient.ref])
        doctor = self.rng.choice(self.doctors_for[patient.ref])
        days = self.rng.randint(2, 5)
        asked = datetime.now(UTC) - timedelta(seconds=self.rng.randint(60, 900))
        turns = [("patient", scenario.patient), ("avatar", scenario.draft)]
        later = scenario.follow_up
        if later is not None and self.rng.random() < 0.5:
            turns += [("patient", later[0]), ("avatar", later[1])]
            later = None
        messages = [
            {
                "author": author,
                "body": self._render(text, patient, days),
                "sent_at": (asked + index * timedelta(seconds=20)).isoformat(),
            }
            for index, (author, text) in enumerate(turns)
        ]
        body = {
            "external_id": f"sim-{self.run_id}-{self.count:06d}",
            "doctor": doctor["licence_number"],
            "patient_ref": f"sim-{patient.ref}",
            "patient": {"birth_year": datetime.now(UTC).year - patient.age, "sex": patient.sex},
            "messages": messages,
            "avatar": {"confidence": round(self.rng.uniform(0.55, 0.98), 2), "flags": self._flags(scenario)},
        }
        follow_up = None
        if self.rng.random() < self.follow_up_share:
            text = later[0] if later is not None else self.rng.choice(FOLLOW_UPS[patient.language])
            follow_up = (self.rng.uniform(0.2, 1.0), self._render(text, patient, days))
        return body, follow_up

    @staticmethod
    def _render(text: str, patient: DemoPatient, days: int) -> str:
        return text.format(weeks=patient.weeks, months=patient.months, age=patient.age, days=days)

    @staticmethod
    def _flags(scenario: Scenario) -> list[dict]:
        if scenario.avatar_flag is None:
            return []
        code, reason = scenario.avatar_flag
        return [{"code": code, "reason": reason}]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


class Command(BaseCommand):
    help = "Post realistic cases and follow-up messages through the real HTTP API, paced to a rate, and report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hospital", required=True, help="The hospital's slug.")
        parser.add_argument("--rate", type=float, required=True, help="New cases per second.")
        parser.add_argument("--duration", type=float, required=True, help="Seconds to send for.")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="Where the portal runs.")
        parser.add_argument(
            "--token",
            default=os.environ.get("PORTAL_API_TOKEN", ""),
            help="An API client's token (or $PORTAL_API_TOKEN); without one, a client is created for the run.",
        )
        parser.add_argument("--follow-up-share", type=float, default=0.2, help="Share of cases that get a follow-up.")
        parser.add_argument("--batch", type=int, default=0, help="Send cases N at a time to /cases/batch/.")
        parser.add_argument("--seed", type=int, default=None, help="Seed of the content (patients, stories, doctors).")
        parser.add_argument("--threads", type=int, default=4, help="Requests in flight at most.")
        parser.add_argument("--timeout", type=float, default=30.0, help="Seconds to wait for one answer.")

    def handle(self, *args, **options) -> None:
        rate, duration, batch = options["rate"], options["duration"], options["batch"]
        if rate <= 0 or duration <= 0 or options["threads"] < 1 or not 0 <= options["follow_up_share"] <= 1:
            raise CommandError("--rate, --duration and --threads must be positive; --follow-up-share 0 to 1.")
        if not 0 <= batch <= 500:
            raise CommandError("--batch takes 1 to 500 cases (0: one request per case).")
        token = options["token"] or self._temporary_token(options["hospital"])
        base_url = options["base_url"]
        doctors = self._doctors(Portal(base_url, token, options["timeout"]), base_url)

        seed = options["seed"] if options["seed"] is not None else secrets.randbelow(2**32)
        writer = CaseWriter(
            doctors=doctors,
            rng=random.Random(seed),
            run_id=secrets.token_hex(3),
            follow_up_share=options["follow_up_share"],
        )
        total = max(1, round(rate * duration))
        self.stdout.write(
            f"Simulating the avatar platform of {options['hospital']} at {base_url}: {total} cases at {rate:g}/s "
            f"for {duration:g} s{f' in batches of {batch}' if batch else ''}, "
            f"{options['follow_up_share']:.0%} with a follow-up, {len(doctors)} doctors, seed {seed}."
        )
        tally = self._run(writer, base_url=base_url, token=token, total=total, options=options)
        self._report(tally, total=total, rate=rate)

    def _temporary_token(self, slug: str) -> str:
        hospital = Hospital.objects.filter(slug=slug).first()
        if hospital is None:
            raise CommandError(f"No hospital with slug {slug!r} in this database; pass --token for a remote portal.")
        name = f"Avatar simulator {datetime.now(UTC):%Y-%m-%d %H:%M:%S}"
        client, token = api_client_create(hospital=hospital, name=name, scopes=SCOPES)
        self.stdout.write(
            f"Created API client {name!r} (id {client.pk}) with scopes {', '.join(SCOPES)} for this run; "
            "an admin can revoke it under /manage/."
        )
        return token

    def _doctors(self, portal: Portal, base_url: str) -> list[dict]:
        status, answer = portal.send("GET", f"{API}/doctors/")
        portal.close()
        if status == 0:
            raise CommandError(f"Cannot reach the portal at {base_url}: {answer['message']}. Is it running?")
        if status in (401, 403):
            raise CommandError(f"The portal refused the token ({status}): {answer.get('message', '')}")
        if status != 200 or not isinstance(answer, list):
            raise CommandError(f"GET {API}/doctors/ answered {status}: {answer.get('message', answer)}")
        doctors = [d for d in answer if d.get("avatar_active")] or answer
        if not doctors:
            raise CommandError("The hospital has no active doctors to write cases for.")
        return doctors

    def _run(self, writer: CaseWriter, *, base_url: str, token: str, total: int, options: dict) -> Tally:
        jobs: queue.Queue = queue.Queue()
        tally = Tally()
        pending: deque = deque()  # (due, case id, text) of follow-ups, appended by the workers
        verbose = options["verbosity"] >= 2
        workers = [
            threading.Thread(
                target=self._work,
                args=(jobs, Portal(base_url, token, options["timeout"]), tally, pending, verbose),
                daemon=True,
            )
            for _ in range(options["threads"])
        ]
        for worker in workers:
            worker.start()
        start = tally.started = time.monotonic()
        per_request = options["batch"] or 1
        interval = per_request / options["rate"]
        for index, first in enumerate(range(0, total, per_request)):
            bodies = [writer.case() for _ in range(min(per_request, total - first))]
            due = start + index * interval
            self._sleep_until(due, jobs, pending)
            if options["batch"]:
                job = Job("batch", "POST", f"{API}/cases/batch/", {"cases": [b for b, _f in bodies]}, due)
            else:
                job = Job("case", "POST", f"{API}/cases/", bodies[0][0], due)
            job.cases = [(len(body["messages"]), follow_up) for body, follow_up in bodies]
            jobs.put(job)
        self._sleep_until(start + options["duration"], jobs, pending)
        for _worker in workers:
            jobs.put(None)
        for worker in workers:
            worker.join()
        # Follow-ups that fell due after the run's end, or whose case was stored after it.
        tally.follow_ups_unsent = len(pending)
        return tally

    def _sleep_until(self, moment: float, jobs: queue.Queue, pending: deque) -> None:
        # Short naps, so follow-ups that fall due meanwhile go out on time.
        while (now := time.monotonic()) < moment:
            self._dispatch_follow_ups(jobs, pending, until=now)
            time.sleep(min(0.02, moment - now))
        self._dispatch_follow_ups(jobs, pending, until=moment)

    @staticmethod
    def _dispatch_follow_ups(jobs: queue.Queue, pending: deque, *, until: float) -> None:
        for _ in range(len(pending)):
            due, case_id, text = pending.popleft()
            if due > until:
                pending.append((due, case_id, text))
                continue
            body = {"body": text, "sent_at": datetime.now(UTC).isoformat()}
            jobs.put(Job("follow_up", "POST", f"{API}/cases/{case_id}/messages/", body, due))

    def _work(self, jobs: queue.Queue, portal: Portal, tally: Tally, pending: deque, verbose: bool) -> None:
        while (job := jobs.get()) is not None:
            began = time.monotonic()
            status, answer = portal.send(job.method, job.path, job.body)
            answered = time.monotonic()
            # A batch answers per case; any other answer is the same for every case of the request.
            results = answer["results"] if job.kind == "batch" and status == 200 else [answer] * len(job.cases)
            created = []
            with tally.lock:
                tally.requests[(job.kind, f"{status // 100}xx" if status else "no answer")] += 1
                tally.statuses[status] += 1
                tally.latencies.append(answered - began)
                tally.max_lag = max(tally.max_lag, began - job.due)
                tally.last_answer = max(tally.last_answer, answered)
                if job.kind == "follow_up":
                    tally.follow_ups_added += status == 201
                for result, (messages, follow_up) in zip(results, job.cases, strict=True):
                    code = result.get("status_code", status)
                    tally.cases[{201: "created", 200: "existing"}.get(code, "refused")] += 1
                    if code == 201:
                        tally.ingested_messages += messages
                        if follow_up is not None:
                            created.append((answered + follow_up[0], result["id"], follow_up[1]))
            pending.extend(created)
            if verbose:
                outcome = " ".join(str(answer[key]) for key in ("urgency", "release", "message") if key in answer)
                self.stdout.write(
                    f"{status or '---'} {job.method} {job.path} {1000 * (answered - began):.0f} ms {outcome}"
                )
        portal.close()

    def _report(self, tally: Tally, *, total: int, rate: float) -> None:
        sent = sum(tally.requests.values())
        by_class = Counter()
        for (_kind, status_class), count in tally.requests.items():
            by_class[status_class] += count
        elapsed = max(tally.last_answer - tally.started, 1e-9)
        refused = tally.cases["refused"]
        self.stdout.write(
            f"Sent {sent} requests in {elapsed:.1f} s: 2xx {by_class['2xx']}, 4xx {by_class['4xx']} "
            f"(429: {tally.statuses[429]}), 5xx {by_class['5xx']}, no answer {by_class['no answer']}."
        )
        self.stdout.write(
            f"Cases: {tally.cases['created']} created, {tally.cases['existing']} existing, {refused} refused "
            f"(of {total}); {tally.ingested_messages} conversation messages; follow-up messages: "
            f"{tally.follow_ups_added} added, {tally.follow_ups_unsent} not sent (due after the end)."
        )
        self.stdout.write(
            f"Achieved {tally.cases['created'] / elapsed:.1f} cases/s (asked {rate:g}/s), "
            f"{sent / elapsed:.1f} requests/s; "
            f"latency p50 {1000 * _percentile(tally.latencies, 0.5):.0f} ms, "
            f"p95 {1000 * _percentile(tally.latencies, 0.95):.0f} ms; sends started up to "
            f"{1000 * max(tally.max_lag, 0):.0f} ms late."
        )
        failed = by_class["5xx"] + by_class["no answer"]
        if failed:
            raise CommandError(f"{failed} requests got a server error or no answer.")
