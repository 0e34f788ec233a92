"""Teams and assignment in a real browser (Debian's Chromium driven by Playwright) against a real
server on a fresh PostgreSQL database with the demo data: the administrator adds a second child
protection officer in Kazanlak; the municipality's coordinator creates a joint enrolment team with
that officer on it and gives the team a child to find; the first officer gives a teacher's alert
to the new colleague; the colleague finds both in "Моите случаи". axe-core checks every page
visited; screenshots at 360 px and 1280 px go to $OBHVAT_TEST_ARTIFACTS (or the run's folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.demo.loader import KAZANLAK_WORKLIST
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS
from tests.conftest import DEMO_PASSWORD
from tests.web.browser import Walk, api_as, chromium

COLLEAGUE = "cp-kazanlak.colleague"
SHIPKA = "Екип за обхват – Шипка"


@pytest.mark.postgres_only
def test_a_team_is_made_and_cases_are_given_to_it_and_to_a_colleague(server: str, artifacts: Path) -> None:
    with chromium() as browser:
        _colleague_added(browser, server, artifacts)
        case_id = _team_made_and_given_a_case(browser, server, artifacts)
        alert_id = _alert_given_to_the_colleague(browser, server, artifacts)
        _colleague_finds_both(browser, server, artifacts, [case_id, alert_id])


def _colleague_added(browser: object, base: str, artifacts: Path) -> None:
    admin = Walk(browser, base, artifacts, "teams-admin")
    admin.sign_in("platform.admin")
    page = admin.page
    assert "Екипи за обхват" not in page.content()  # teams are the enrolment leads' to manage
    page.goto("/admin/users")
    admin.check("users")
    page.locator("#username").fill(COLLEAGUE)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("#organisation_id").select_option(label="Отдел „Закрила на детето“, ДСП Казанлък (cp-kazanlak)")
    page.locator("#roles-cp_officer").check()
    page.get_by_role("button", name="Добавяне на потребителя").click()
    page.wait_for_url("**/admin/users?done=created")
    assert COLLEAGUE in page.content()
    admin.check("user-created")
    admin.close()


def _team_made_and_given_a_case(browser: object, base: str, artifacts: Path) -> str:
    with api_as(base, "rue-stara-zagora.education") as office:
        imported = office.post("/api/v1/worklists/csv", content=KAZANLAK_WORKLIST.read_bytes(),
                               headers={"Content-Type": "text/csv"})
        assert imported.status_code == 201, imported.text
        listed = office.get("/api/v1/alerts", params={"type": "not_enrolled"})
        case_id = str(next(a["id"] for a in listed.json()["items"] if a["settlement_code"] == "83185"))

    coordinator = Walk(browser, base, artifacts, "teams-coordinator")
    coordinator.sign_in("mun-kazanlak.municipal")
    page = coordinator.page
    page.get_by_role("link", name="Екипи за обхват").first.click()
    page.wait_for_url("**/admin/teams")
    coordinator.check("teams")
    assert "Екип за обхват – община Казанлък" in page.content()
    page.get_by_role("button", name="Създай екипа").click()
    assert "Въведете името на екипа" in page.content()
    coordinator.check("team-errors")
    page.locator("#name").fill(SHIPKA)
    page.locator("#code").fill("team-shipka")
    page.get_by_label("Населени места (кодове по ЕКАТТЕ, по желание)").fill("83185")
    page.get_by_role("button", name="Създай екипа").click()
    page.wait_for_url("**/admin/teams?done=created")
    assert SHIPKA in page.content()
    coordinator.check("team-created")
    page.get_by_label(f"Добавяне на член към {SHIPKA} (потребителско име)").fill(COLLEAGUE)
    page.locator("section", has=page.get_by_role("heading", name=SHIPKA)).get_by_role(
        "button", name="Добави към екипа").click()
    page.wait_for_url("**/admin/teams?done=member_added")
    section = page.locator("section", has=page.get_by_role("heading", name=SHIPKA))
    assert COLLEAGUE in section.inner_text() and "Отдел „Закрила на детето“, ДСП Казанлък" in section.inner_text()
    coordinator.check("member-added")

    page.goto(f"/alerts/{case_id}")
    coordinator.check("case")
    page.get_by_label("Възложи сигнала на").select_option(label=SHIPKA)
    page.get_by_role("button", name="Възложи", exact=True).click()
    page.wait_for_url("**?done=assigned")
    assert "Сигналът е възложен." in page.content() and SHIPKA in page.content()
    coordinator.check("case-assigned")
    coordinator.close()
    return case_id


def _alert_given_to_the_colleague(browser: object, base: str, artifacts: Path) -> str:
    with api_as(base, "school-koprinka.staff") as teacher:
        child_id = teacher.post("/api/v1/children/lookup", json={"pin": KOPRINKA_PUPIL_PINS[2]}).json()["id"]
        raised = teacher.post("/api/v1/alerts", json={
            "child_id": child_id, "type": "unexcused_absences", "details": {"month": "2026-10", "unexcused_hours": 16}})
        assert raised.status_code == 201, raised.text
        alert_id = str(raised.json()["id"])

    officer = Walk(browser, base, artifacts, "teams-officer")
    officer.sign_in("cp-kazanlak.cp")
    page = officer.page
    page.goto(f"/alerts/{alert_id}")
    officer.check("alert")
    page.get_by_role("button", name="Възложи", exact=True).click()
    assert "Изберете човека или екипа, на когото възлагате сигнала" in page.content()
    officer.check("assign-error")
    page.get_by_label("Възложи сигнала на").select_option(label=COLLEAGUE)
    page.get_by_role("button", name="Възложи", exact=True).click()
    page.wait_for_url("**?done=assigned")
    assert "Сигналът е възложен." in page.content() and COLLEAGUE in page.content()
    officer.check("assigned")
    officer.close()
    return alert_id


def _colleague_finds_both(browser: object, base: str, artifacts: Path, alert_ids: list[str]) -> None:
    colleague = Walk(browser, base, artifacts, "teams-colleague")
    colleague.sign_in(COLLEAGUE)
    page = colleague.page
    page.get_by_role("link", name="Моите случаи").first.click()
    page.wait_for_url("**/my/cases")
    colleague.check("my-cases")
    for alert_id in alert_ids:
        assert page.locator(f'a[href="/alerts/{alert_id}"]').count() >= 1, alert_id
    page.locator(f'a[href="/alerts/{alert_ids[0]}"]').first.click()
    colleague.check("team-case")
    assert SHIPKA in page.content()
    colleague.close()
