"""PUT + GET of 1 MB objects through oss2: fakeoss against raw moto, in one run.

Both servers run in this process on free 127.0.0.1 ports with werkzeug's
threaded server; rounds alternate between them so drift hits both alike. Raw
moto skips every check fakeoss makes (signatures, CRC64, limits), so the ratio
is the price of those checks. Bounded by --rounds and --max-seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import oss2

from fakeoss.testing import running_fakeoss, serve_wsgi

OBJECT_BYTES = 1024 * 1024


def _round(bucket: oss2.Bucket, key: str, data: bytes) -> float:
    started = time.perf_counter()
    bucket.put_object(key, data)
    body = bucket.get_object(key).read()
    elapsed = time.perf_counter() - started
    if body != data:
        raise SystemExit(f"bench: {bucket.endpoint} returned different bytes for {key}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=100, help="PUT+GET pairs per server")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="stop after this long")
    parser.add_argument("--output", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 10_000:
        parser.error("--rounds must be 1 to 10000")

    # Imported after fakeoss, which sets moto's environment (100 KB parts) first.
    from moto.server import create_backend_app

    data = os.urandom(OBJECT_BYTES)
    moto_app = create_backend_app("s3")
    with running_fakeoss(buckets=("bench",)) as fake, serve_wsgi(moto_app) as moto_server:
        fake_bucket = fake.bucket("bench")
        moto_bucket = oss2.Bucket(
            oss2.Auth("moto-id", "moto-secret"),
            f"http://127.0.0.1:{moto_server.server_port}",
            "bench-moto",
        )
        moto_bucket.create_bucket()  # raw moto ignores the OSS body; a plain PUT works
        # Warm both connection pools and code paths before timing.
        _round(fake_bucket, "warm", data)
        _round(moto_bucket, "warm", data)
        spent = {"fakeoss": 0.0, "moto": 0.0}
        done = 0
        deadline = time.monotonic() + args.max_seconds
        while done < args.rounds and time.monotonic() < deadline:
            key = f"obj-{done % 10}"
            spent["fakeoss"] += _round(fake_bucket, key, data)
            spent["moto"] += _round(moto_bucket, key, data)
            done += 1

    rates = {name: done / seconds for name, seconds in spent.items()}
    result = {
        "object_bytes": OBJECT_BYTES,
        "rounds": done,
        "fakeoss_objects_per_s": round(rates["fakeoss"], 2),
        "moto_objects_per_s": round(rates["moto"], 2),
        "ratio": round(rates["fakeoss"] / rates["moto"], 3),
        "python": sys.version.split()[0],
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
