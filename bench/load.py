"""The load process: `python -m bench.load SPEC.json` prints one JSON result.

Kept apart from Django and from the driver so that the server under test and the client
loading it are different processes (on loopback only), as a real client would be. Each
worker thread holds one keep-alive connection and sends its own list of requests in
order; all start together and stop when their list ends or the time is up.
"""

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlsplit


def _worker(base, headers, requests, deadline_box, barrier, out, warmup):
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    latencies, statuses, items, ok = [], {}, 0, 0
    barrier.wait()
    deadline = deadline_box[0]
    for index, request in enumerate(requests):
        if time.perf_counter() >= deadline:
            break
        body = request["body"].encode() if request["body"] is not None else None
        merged = {**headers, **request["headers"]}
        started = time.perf_counter()
        try:
            connection.request(request["method"], request["path"], body=body, headers=merged)
            response = connection.getresponse()
            response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            status = f"error:{type(error).__name__}"
        elapsed_ms = (time.perf_counter() - started) * 1000
        if index < warmup:
            continue
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        latencies.append(elapsed_ms)
        if isinstance(status, int) and 200 <= status < 400:
            ok += 1
            items += request["items"]
    connection.close()
    out.append((latencies, statuses, items, ok, time.perf_counter()))


def main(path: str) -> None:
    with open(path) as handle:
        spec = json.load(handle)
    workers = spec["workers"]
    barrier = threading.Barrier(len(workers) + 1)
    deadline_box = [0.0]
    out: list = []
    threads = [
        threading.Thread(
            target=_worker,
            args=(spec["base"], spec["headers"], requests, deadline_box, barrier, out, spec.get("warmup", 0)),
        )
        for requests in workers
    ]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline_box[0] = started + spec["seconds"]
    barrier.wait()
    for thread in threads:
        thread.join()
    finished = max(row[4] for row in out)
    latencies, statuses, items, ok = [], {}, 0, 0
    for worker_latencies, worker_statuses, worker_items, worker_ok, _ in out:
        latencies.extend(worker_latencies)
        items += worker_items
        ok += worker_ok
        for status, count in worker_statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    result = {
        "requests": len(latencies),
        "ok": ok,
        "items": items,
        "elapsed": finished - started,
        "latencies_ms": latencies,
        "statuses": statuses,
    }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
