"""The committed contract under schemas/ must match the code."""

import json

from service.schemas_export import SCHEMAS_DIR, drifted


def test_committed_schemas_match_the_code():
    assert drifted() == [], "run `make schemas` and commit the result"


def test_openapi_lists_the_contract_paths():
    paths = json.loads((SCHEMAS_DIR / "openapi.json").read_text(encoding="utf-8"))["paths"]
    for path in ("/api/v1/auth/token", "/.well-known/jwks.json", "/api/v1/me", "/api/v1/organisations",
                 "/api/v1/users", "/api/v1/clients", "/api/v1/children", "/api/v1/children/lookup",
                 "/api/v1/children/{child_id}/history", "/api/v1/alerts", "/api/v1/alerts/{alert_id}/close",
                 "/api/v1/inbox", "/api/v1/routing-rules", "/healthz", "/readyz", "/metrics"):
        assert path in paths, path


def test_alert_details_schema_rejects_unknown_fields():
    schema = json.loads((SCHEMAS_DIR / "alert-details" / "unexcused_absences.schema.json").read_text())
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"month"}
    # a school's pupil has hours, a kindergarten's child days: exactly one of them
    assert schema["oneOf"] == [{"required": ["unexcused_hours"]}, {"required": ["unexcused_days"]}]
