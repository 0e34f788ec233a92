"""Values that must never appear in a log line: demo children's PINs and names, passwords."""

from __future__ import annotations

import json

from service.demo.loader import DEFAULT_DEMO_FILE

#: passwords the tests use; each must stay out of every log line
TEST_PASSWORDS = ("obhvat-demo-password", "correct horse battery staple", "a-new-password-2026")


def forbidden_in_logs() -> list[str]:
    demo = json.loads(DEFAULT_DEMO_FILE.read_text(encoding="utf-8"))
    values: list[str] = list(TEST_PASSWORDS)
    for child in demo["children"]:
        values.append(child["pin"])
        values.append(f"{child['given_name']} {child['family_name']}")
        values.append(child["family_name"])
    return values
