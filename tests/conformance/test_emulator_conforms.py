"""The emulator answers as the vendors' OpenAPI documents say, on every call we make.

Each connector runs every method of ``connectors.base.Connector`` against the demo
emulator, which keeps its response bodies; then every request it sent is matched to a
path of its vendor's document (an endpoint the document does not have fails the test)
and the body is validated against that operation's response schema. The error bodies
the emulator sends are validated against the statuses the documents describe.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from connectors.base import Connector, ListQuery
from connectors.sandbox import Emulator, RecordedRequest, demo_emulator
from connectors.sandbox.server import emulator_error_body
from connectors.sandbox.stackone import stackone_error_body
from connectors.settings import build_connector
from tests.conformance.specs import Spec, load_spec
from tests.harness import demo_sources

VENDORS = ("kombo", "stackone", "skilljar")


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    running = demo_emulator(seed=5, users=24)
    running.keep_bodies = True
    async with running:
        yield running


async def exercise(connector: Connector) -> None:
    """Every call the graph can make, with the arguments it makes them with."""
    await connector.check_health()
    since = ListQuery(updated_after=datetime(2020, 1, 1, tzinfo=UTC), include_deleted=True)
    pages = {}
    for name in ("users", "courses", "skills", "progressions"):
        lister = getattr(connector, f"list_{name}")
        first = await lister(ListQuery(), None, 5)
        if first.next_token:
            await lister(ListQuery(), first.next_token, 5)
        await lister(since, None, 5)
        pages[name] = first
    user_ids = [user.id for user in pages["users"].items][:3]
    course_ids = [course.id for course in pages["courses"].items][:3]
    await connector.fetch_users([*user_ids, "unknown-id"])
    await connector.fetch_courses([*course_ids, "unknown-id"])
    await connector.fetch_skills([skill.id for skill in pages["skills"].items][:3])
    await connector.fetch_progressions([p.id for p in pages["progressions"].items][:3])
    emails = [user.email.lower() for user in pages["users"].items if user.email][:2]
    await connector.fetch_users_by_email(emails)
    await connector.fetch_progressions_of_users(user_ids)
    await connector.fetch_progressions_of_courses(course_ids)


def template_of(spec: Spec, path: str) -> str:
    """The document's path template that ``path`` is an instance of."""
    for template in spec.get_paths():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path.rstrip("/")) or re.fullmatch(pattern, path):
            return template
    pytest.fail(f"{spec.vendor}: GET {path} is not an endpoint of the vendor's document")


def problems(spec: Spec, request: RecordedRequest) -> list[str]:
    template = template_of(spec, request.path)
    if not spec.has_body(template, str(request.status)):
        return [] if not request.body else [f"GET {request.path}: a body where the spec has none"]
    assert request.body is not None, f"no body kept for {request.path}"
    validator = spec.validator(template, str(request.status))
    body = json.loads(request.body)
    return [
        f"GET {request.path} ({template}) at /{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(body)
    ][:5]


@pytest.mark.parametrize("vendor", VENDORS)
async def test_every_response_to_our_calls_validates_against_the_vendor_spec(
    emulator: Emulator, vendor: str
) -> None:
    spec = load_spec(vendor)
    (settings,) = [s for s in demo_sources(emulator, max_attempts=1) if s.kind == vendor]
    connector = build_connector(settings)
    await connector.open()
    try:
        await exercise(connector)
    finally:
        await connector.close()
    answered = [r for r in emulator.requests if r.vendor == vendor and r.status == 200]
    assert len(answered) > 10  # the exercise reached the emulator
    found = [problem for request in answered for problem in problems(spec, request)]
    assert found == []
    # Every list and look-up endpoint the connector reads was checked at least once.
    checked = {template_of(spec, r.path) for r in answered}
    assert len(checked) >= 4, checked
    # Every query parameter sent is one the document declares, but for the known ones.
    sent = {
        (template_of(spec, r.path), name)
        for r in emulator.requests
        if r.vendor == vendor
        for name in r.query
    }
    assert {pair for pair in sent if not spec.declares(*pair)} == UNDECLARED[vendor]


#: Parameters we send that a document does not declare. Skilljar's lists page with DRF's
#: `page_size`, which its reference describes on most lists but the document leaves out
#: on these (harmless where it is ignored: the connector never relies on page sizes, see
#: SkilljarConnector.list_progressions); `cursor` comes from the `next` links Skilljar sends
#: on `/v1/users` (the cursor paging its description promises), followed as given.
UNDECLARED: dict[str, set[tuple[str, str]]] = {
    "kombo": set(),
    "stackone": set(),
    "skilljar": {
        ("/v1/users", "page_size"),
        ("/v1/users", "cursor"),
        ("/v1/users/{user_id}/published-courses", "page_size"),
        ("/v1/domains/{domain_name}/published-courses", "page_size"),
    },
}


@pytest.mark.parametrize("status", [400, 401, 403, 404, 408, 409, 412, 422, 429, 500, 501, 502])
def test_stackone_error_bodies_match_the_spec_of_their_status(status: int) -> None:
    spec = load_spec("stackone")
    validator = spec.validator("/unified/lms/users", str(status))
    body = stackone_error_body(status, "Injected.")
    assert [e.message for e in validator.iter_errors(body)] == []


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 503])
def test_kombo_error_bodies_match_the_spec(status: int) -> None:
    """The emulator's error bodies (the codes it sends per status).

    Kombo's schema enumerates only ``PLATFORM.*`` codes, while its own example and error
    guide use ``INTEGRATION.*`` ones too (``INTEGRATION.MODEL_NOT_AVAILABLE``); the
    connector classifies both, the emulator sends only what the schema allows.
    """
    validator = load_spec("kombo").validator("/lms/users", "default")
    body = emulator_error_body("kombo", status, "Injected.")
    assert [e.message for e in validator.iter_errors(body)] == []


def test_the_validator_refuses_a_body_the_spec_does_not_allow() -> None:
    """The check above can fail: a record field of the wrong type is caught."""
    validator = load_spec("stackone").validator("/unified/lms/users")
    assert list(validator.iter_errors({"data": [{"id": None, "name": "A"}]})) == []
    assert list(validator.iter_errors({"data": [{"id": 7}]})) != []
    assert list(validator.iter_errors({"next": None})) != []  # `data` is required
