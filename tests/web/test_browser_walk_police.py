"""The juvenile inspector's walk in a real browser (Debian's Chromium driven by Playwright)
against a real server on a fresh PostgreSQL database with the demo data: police-kazanlak signs
in, looks up a child of the unit's area for law enforcement (identity only, never the school),
asks whether child protection knows the child and sees whom to call, then reports the child
found out of school through the alert form, first with a mistake on a field. axe-core checks
every page visited; screenshots at 360 px and 1280 px go to $OBHVAT_TEST_ARTIFACTS (or the
run's temporary folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.alerts.helpers import KOPRINKA_PUPIL_PINS
from tests.web.browser import Walk, api_as, chromium

PIN = KOPRINKA_PUPIL_PINS[0]


@pytest.mark.postgres_only
def test_police_look_a_child_up_ask_child_protection_and_report_it_found(server: str, artifacts: Path) -> None:
    with api_as(server, "school-koprinka.staff") as teacher:
        # a case child protection knows: the teacher's alert is routed to cp-kazanlak
        child_id = teacher.post("/api/v1/children/lookup", json={"pin": PIN}).json()["id"]
        raised = teacher.post(
            "/api/v1/alerts",
            json={"child_id": child_id, "type": "unexcused_absences",
                  "details": {"month": "2026-10", "unexcused_hours": 9}},
        )
        assert raised.status_code == 201, raised.text
    with chromium() as browser:
        _walk(browser, server, artifacts, child_id)


def _find(police: Walk, name: str) -> None:
    page = police.page
    page.get_by_role("link", name="Търсене на ученик").first.click()
    page.wait_for_url("**/children/search")
    assert "Правоприлагане" in page.content(), "the purpose of the search is not stated"
    police.check(f"{name}-form")
    page.get_by_label("ЕГН или ЛНЧ на ученика").fill(PIN)
    page.get_by_role("button", name="Търсене", exact=True).click()
    page.wait_for_load_state()
    assert PIN not in page.url
    content = page.content()
    assert "Ангел" in content and "Кирил и Методий" not in content, "the lookup showed the school"
    police.check(name)


def _walk(browser: object, base: str, artifacts: Path, child_id: str) -> None:
    police = Walk(browser, base, artifacts, "police")
    police.sign_in("police-kazanlak.police")
    page = police.page

    # a mistyped number is an error on its field
    page.get_by_role("link", name="Търсене на ученик").first.click()
    page.get_by_label("ЕГН или ЛНЧ на ученика").fill("11520350абв")
    page.get_by_role("button", name="Търсене", exact=True).click()
    page.wait_for_load_state()
    assert "Това не е валиден ЕГН или ЛНЧ" in page.locator("#pin-error").inner_text()
    police.check("search-bad-pin")

    _find(police, "found")
    page.get_by_label("Защо питате").fill("Намерено в 10:00 на площада в учебно време")
    page.get_by_role("button", name="Попитайте отдела за закрила на детето").click()
    page.wait_for_url("**/children/known-to-cp")
    answer = page.locator("#answer").inner_text()
    assert "Да." in answer and "ДСП Казанлък" in answer and "+359 431 0 0101" in answer
    police.check("known-to-cp")

    # the question on its own page, from the menu
    page.get_by_role("link", name="Питане за друго дете").click()
    page.wait_for_url("**/children/known-to-cp")
    police.check("known-to-cp-form")

    _find(police, "found-again")
    page.get_by_role("link", name="Сигнал: детето е намерено извън училище").click()
    page.wait_for_url("**/alerts/new?*")
    police.check("found-form")
    page.get_by_label("Намерено на (дата и час)").fill("2026-11-24T10:00")
    page.get_by_role("button", name="Изпращане на сигнала").click()
    page.wait_for_load_state()
    assert page.locator("#details-place-error").count() == 1, "the missing place is not shown on its field"
    police.check("found-form-errors")
    page.get_by_label("Място, където е намерено детето").fill("Площад „Севтополис“, до автогарата")
    page.get_by_role("button", name="Изпращане на сигнала").click()
    page.wait_for_url("**/alerts/*?done=raised")
    assert "Сигналът е изпратен" in page.content()
    police.check("found-raised")
    alert_id = page.url.split("?")[0].rsplit("/", 1)[-1]
    police.close()

    with api_as(base, "cp-kazanlak.cp") as cp:
        alert = cp.get(f"/api/v1/alerts/{alert_id}").json()
        assert alert["type"] == "found_out_of_school" and alert["child_id"] == child_id
        assert alert["details"]["found_at"] == "2026-11-24T10:00:00+02:00"
