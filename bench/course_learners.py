"""Vendor calls and latency of course → learners, per source.

Runs the real server (cache off, so every run is cold) over loopback against the
four-vendor demo emulator and asks one page of courses with their revisions and their
learners (``Course.progressions`` with each learner), source by source, and prints the
vendor calls per endpoint kind and the median wall time. Kombo answers every course of
the page in one ``course_ids`` call (paged by 250 progressions); Absorb lists each
course's enrolments; Skilljar and StackOne have no by-course progress call and pay for it.

    python -m bench.course_learners [--users 120] [--page 20] [--runs 3] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from collections import Counter

from connectors.sandbox import demo_emulator
from graph.config import CacheSettings
from tests.harness import DEMO_SOURCES, demo_sources, run_server

QUERY = """
query($first: Int!, $source: String!) {
  courses(first: $first, source: $source) {
    edges { node {
      id
      revisions { edges { node { id } } }
      progressions(first: 250) { totalCount edges { node { status user { id email } } } }
    } }
  }
}
"""

#: Vendor IDs in paths become `{id}`, so calls group by endpoint.
_ID = re.compile(r"/(?:[0-9A-Za-z]{12,}|(?=[^/]*\d)[^/.]{6,})(?=/|$)")


def _endpoint(path: str) -> str:
    return _ID.sub("/{id}", path)


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=120)
    parser.add_argument("--page", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args(argv)
    print(f"command: python -m bench.course_learners {' '.join(argv)}".rstrip())
    emulator = demo_emulator(users=args.users, latency_seconds=args.latency_ms / 1000)
    no_cache = CacheSettings(backend="none")
    async with emulator, run_server(demo_sources(emulator), no_cache) as server:
        for vendor, source in DEMO_SOURCES.items():
            timings: list[float] = []
            counts: list[Counter[str]] = []
            for _ in range(args.runs):
                emulator.clear_requests()
                started = time.perf_counter()
                data = await server.data(QUERY, {"first": args.page, "source": source})
                timings.append(time.perf_counter() - started)
                # Absorb's login (once per token lifetime) is not part of the traversal.
                paths = [r.path for r in emulator.requests if r.path != "/authenticate"]
                counts.append(Counter(_endpoint(path) for path in paths))
            courses = [edge["node"] for edge in data["courses"]["edges"]]
            learners = sum(len(c["progressions"]["edges"]) for c in courses)
            calls = counts[-1]
            if not courses or not learners or not calls:
                raise SystemExit(f"{vendor}: no courses, learners or vendor calls: not measuring")
            if any(run != calls for run in counts):
                raise SystemExit(f"{vendor}: calls differ between cold runs: {counts}")
            if vendor == "kombo" and calls["/lms/course-progressions"] >= len(courses):
                raise SystemExit(f"kombo: by-course calls are no longer batched: {calls}")
            detail = ", ".join(f"{path} {n}" for path, n in sorted(calls.items()))
            print(
                f"{vendor:>8}: {len(courses)} courses, {learners} learners, "
                f"{sum(calls.values())} vendor calls ({detail}); "
                f"median {statistics.median(timings) * 1000:.0f} ms over {args.runs} runs"
            )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
