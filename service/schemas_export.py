"""Write the committed API contract: the OpenAPI document and JSON Schemas of alert details.

`python -m service.schemas_export` (or `make schemas`) rewrites `schemas/`; `--check` exits 1
and names the files that drifted from the code, which the test suite also checks.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from service.absences.schemas import AbsenceRowSchema
from service.alerts.details import details_json_schemas
from service.core.migrations import PROJECT_ROOT

SCHEMAS_DIR = PROJECT_ROOT / "schemas"


def _render(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def openapi_document() -> dict[str, Any]:
    from service.app import create_app
    from service.core.settings import Environment, Settings

    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(environment=Environment.test, data_dir=Path(scratch), pin_secret="x" * 32)
        return create_app(settings).openapi()


def expected_files() -> dict[str, str]:
    files = {"openapi.json": _render(openapi_document())}
    for alert_type, schema in details_json_schemas().items():
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"alert-details/{alert_type}.schema.json",
            **schema,
        }
        files[f"alert-details/{alert_type}.schema.json"] = _render(schema)
    row_schema = AbsenceRowSchema.model_json_schema()
    files["absence-row.schema.json"] = _render(
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "absence-row.schema.json", **row_schema}
    )
    return files


def drifted(root: Path = SCHEMAS_DIR) -> list[str]:
    """Files under `schemas/` that differ from what the code generates (or are missing)."""
    return sorted(
        name
        for name, text in expected_files().items()
        if not (root / name).is_file() or (root / name).read_text(encoding="utf-8") != text
    )


def write(root: Path = SCHEMAS_DIR) -> list[str]:
    written = []
    for name, text in expected_files().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(name)
    return written


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = drifted()
        for name in stale:
            print(f"schemas/{name} differs from the code; run `make schemas`", file=sys.stderr)
        return 1 if stale else 0
    for name in write():
        print(f"wrote schemas/{name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
