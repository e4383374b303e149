"""Parse rate of responses generated from the vendors' OpenAPI response schemas.

For each endpoint a connector reads, generates bodies from the vendor's response schema
(hypothesis-jsonschema, derandomized: the same bodies every run) and runs each through
the connector's validator and mapper. Prints, per endpoint, the records generated, the
usable ones (with the IDs the connector needs: ``id``; for StackOne's assignments and
completions the learning object), how many of those were read (the rate), and how many
records were skipped (and reported as SOURCE_BAD_RECORD) for having none.

    .venv/bin/python -m bench.spec_parse_rate --vendor stackone --bodies 200

Needs the test extra (hypothesis, hypothesis-jsonschema) and the vendors' documents in
a ``shared/specs`` checkout beside the repository.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis_jsonschema import from_schema
from pydantic import ValidationError

from tests.conformance.parsing import ENDPOINTS, READ_FIELDS, Endpoint, Parsed, parse
from tests.conformance.specs import _load

COMMAND = "python -m bench.spec_parse_rate"


def measure(endpoint: Endpoint, bodies: int) -> tuple[Parsed, int]:
    """Counts over ``bodies`` generated bodies, and how many envelopes were refused."""
    spec = _load(endpoint.vendor)
    if spec is None:
        raise SystemExit(f"vendor spec missing for {endpoint.vendor}: no shared/specs checkout")
    schema = spec.inlined(endpoint.path, keep=READ_FIELDS[endpoint.vendor])
    total, refused = Parsed(), [0]

    @settings(
        max_examples=bodies,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(from_schema(schema))
    def run(body: Any) -> None:
        try:
            total.add(parse(endpoint, body))
        except ValidationError:
            refused[0] += 1

    run()
    return total, refused[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendor", choices=sorted(ENDPOINTS), default="stackone")
    parser.add_argument("--bodies", type=int, default=200, help="generated bodies per endpoint")
    args = parser.parse_args(argv)
    print(f"{COMMAND} --vendor {args.vendor} --bodies {args.bodies}")
    print(f"{'endpoint':58} {'bodies':>6} {'records':>7} {'usable':>7} {'read':>6} "
          f"{'skipped':>7} {'rate':>7}")  # fmt: skip
    overall, refused_total = Parsed(), 0
    for endpoint in ENDPOINTS[args.vendor]:
        counts, refused = measure(endpoint, args.bodies)
        overall.add(counts)
        refused_total += refused
        print(
            f"{endpoint.path:58} {counts.bodies:6d} {counts.records:7d} {counts.usable:7d} "
            f"{counts.kept:6d} {counts.skipped:7d} {counts.rate:7.1%}"
        )
    print(
        f"{'all':58} {overall.bodies:6d} {overall.records:7d} {overall.usable:7d} "
        f"{overall.kept:6d} {overall.skipped:7d} {overall.rate:7.1%}"
    )
    print(f"envelopes refused: {refused_total}")
    # Fail loudly when this no longer measures what it says.
    if overall.usable == 0 or overall.bodies == 0:
        print("no records with an ID were generated: nothing measured", file=sys.stderr)
        return 1
    if overall.skipped != overall.expected_skips:
        print("skipped records differ from the records without an ID", file=sys.stderr)
        return 1
    return 0 if refused_total == 0 and overall.kept == overall.usable else 1


if __name__ == "__main__":
    sys.exit(main())
