"""The console's browser walks: Debian's Chromium driven by Playwright, axe-core on every page a
person lands on, screenshots at 360 px and 1280 px. Imported only by the walks, so a machine
without Playwright skips just them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DEMO_PASSWORD

CHROMIUM = os.environ.get("OBHVAT_CHROMIUM", "/usr/bin/chromium")
WIDTHS = (360, 1280)

playwright_api = pytest.importorskip("playwright.sync_api")
axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium (Playwright's own browser download cannot be reached from here)."""
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


class Walk:
    """One person's browser: every page it lands on is checked by axe and photographed."""

    def __init__(self, browser: object, base: str, artifacts: Path, who: str) -> None:
        self.context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.artifacts = artifacts
        self.who = who
        self.axe = axe_module.Axe()
        self.shots = 0

    def check(self, name: str) -> None:
        results = self.axe.run(self.page)
        serious = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not serious, f"{self.who} {name} ({self.page.url}): {serious}"
        self.shots += 1
        for width in WIDTHS:
            self.page.set_viewport_size({"width": width, "height": 900})
            shot = self.artifacts / f"{self.who}-{self.shots:02d}-{name}-{width}.png"
            self.page.screenshot(path=shot, full_page=True)
        self.page.set_viewport_size({"width": 1280, "height": 900})

    def sign_in(self, username: str) -> None:
        self.page.goto("/login")
        self.check("login")
        self.page.get_by_label("Потребителско име").fill(username)
        self.page.get_by_label("Парола").fill(DEMO_PASSWORD)
        self.page.get_by_role("button", name="Вход").click()
        self.page.wait_for_url("**/")
        self.check("start")

    def close(self) -> None:
        self.context.close()


def api_as(base: str, username: str) -> httpx.Client:
    """A client of the server's API signed in as `username` (for what the walk does not show)."""
    token = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": DEMO_PASSWORD},
        timeout=30,
    )
    assert token.status_code == 200, token.text
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=30)
