"""Fuzz the app's OpenAPI with schemathesis: no generated request may cause a server error.

Every operation of create_app()'s schema gets schema-valid (positive) and schema-violating
(negative) requests over ASGI, on the sample catalogue, with the admin token except for /admin. Rate limiting is
off here so each case reaches the endpoint code. Prints the number of cases run; TTHC_FUZZ_EXAMPLES (default 100)
sets the examples per operation and mode. Generation is derandomized so CI runs are repeatable.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in requirements/app.lock")
from hypothesis import HealthCheck, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

from assistant.app import conversation_log, handoff_desk  # noqa: E402
from assistant.app.knowledge_provider import provider  # noqa: E402
from assistant.app.server.app import create_app  # noqa: E402
from assistant.core.settings import get_settings  # noqa: E402
from tests.support import dashboard_data  # noqa: E402

EXAMPLES = int(os.environ.get("TTHC_FUZZ_EXAMPLES", "100"))
ADMIN_TOKEN = "fuzz-admin-token"


@pytest.fixture
def fuzz_app(sample_kb, tmp_path, monkeypatch):
    monkeypatch.setattr(provider, "_kb", sample_kb)
    monkeypatch.setattr(conversation_log, "default_db_path", lambda: tmp_path / "app.db")
    # A Zalo hand-off (id 1) and a week of questions, so the hand-off and dashboard paths reach their code;
    # staff replies go to a temporary Zalo outbox.
    monkeypatch.setattr(handoff_desk, "default_outbox", lambda: tmp_path / "zalo_outbox.sqlite")
    conversation_log.flag_handoff("8512345678901234567", "zalo", [{"sender": "user", "text": "gặp cán bộ"}])
    dashboard_data.seed()
    monkeypatch.setenv("TTHC_ADMIN_TOKEN", ADMIN_TOKEN)
    base = get_settings()
    settings = base.model_copy(update={"security": base.security.model_copy(update={"rate_limit_per_minute": 0})})
    return create_app(settings)


def test_no_server_error_on_generated_requests(fuzz_app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the app's OpenAPI lists no operations"
    cases: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: list[str] = []

    for operation in operations:
        # Staff views are fuzzed past the token check; /admin/reload would reopen the real index, so
        # it is only fuzzed without the token.
        headers = {} if operation.path.startswith("/admin") else {"X-Admin-Token": ADMIN_TOKEN}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case) -> None:
                # run() is called within this iteration, so the loop variables are the current ones.
                response = case.call(headers=headers)  # noqa: B023
                cases[operation.label] += 1  # noqa: B023
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    failures.append(
                        f"{response.status_code} {case.method} {case.formatted_path} "
                        f"query={case.query!r} body={case.body!r}"[:300]
                    )

            try:
                run()
            except Unsatisfiable:
                # Nothing to violate (e.g. no parameters, no body): no negative case exists.
                assert mode is GenerationMode.NEGATIVE, f"no valid request for {operation.label}"

    total = sum(cases.values())
    print(
        f"\nschemathesis: {total} cases over {len(operations)} operations; "
        f"status codes: {dict(sorted(statuses.items()))}"
    )
    for label, count in sorted(cases.items()):
        print(f"  {count:5d}  {label}")
    assert not failures, "server errors:\n" + "\n".join(failures[:20])
