"""The enrolment mechanism's people in a real browser (Debian's Chromium driven by Playwright)
against a real server on a fresh PostgreSQL database with the demo data. The regional education
officer sends a list of children to find: first a file with bad rows, which the page names row
by row, then the good one; then reads the mechanism's report. The juvenile commission's officer
sees in the inbox only the alert child protection referred to the commission, and opens it; an
alert not referred to it is a page not found. axe-core checks every page visited; screenshots at
360 px and 1280 px go to $OBHVAT_TEST_ARTIFACTS (or the run's temporary folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.demo.loader import KAZANLAK_WORKLIST
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS
from tests.web.browser import Walk, api_as, chromium


@pytest.mark.postgres_only
def test_the_education_officer_sends_the_list_and_reads_the_mechanism_report(
    server: str, artifacts: Path, tmp_path: Path
) -> None:
    with chromium() as browser:
        _education_officer(browser, server, artifacts, tmp_path)


@pytest.mark.postgres_only
def test_the_juvenile_commission_sees_only_what_was_referred_to_it(server: str, artifacts: Path) -> None:
    with chromium() as browser:
        _commission(browser, server, artifacts)


def _education_officer(browser: object, base: str, artifacts: Path, tmp_path: Path) -> None:
    good = KAZANLAK_WORKLIST.read_text(encoding="utf-8")
    bad = tmp_path / "деца-грешен.csv"
    lines = good.splitlines()
    # row 2: a municipality written out instead of its code; row 4: a child without an ЕГН and no family name
    lines[2] = lines[2].replace(";SZR12;", ";Казанлък;")
    lines[4] = lines[4].replace(";Айше;Мехмедова;", ";Айше;;").replace("1850056244", "")
    bad.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1251"))
    listed = tmp_path / "деца-за-издирване.csv"
    listed.write_bytes(good.encode("cp1251"))

    officer = Walk(browser, base, artifacts, "education-officer")
    officer.sign_in("rue-stara-zagora.education")
    page = officer.page
    menu = page.locator("nav.menu")
    assert menu.get_by_role("link", name="Справка", exact=True).count() == 0, "the summary is offered"
    menu.get_by_role("link", name="Списъци за издирване").first.click()
    page.wait_for_url("**/worklists")
    officer.check("worklist")

    page.get_by_label("CSV файл").set_input_files(bad)
    page.get_by_role("button", name="Изпращане на файла").click()
    page.wait_for_url("**/worklists/csv")
    content = page.content()
    assert "Нищо не е прието" in content
    errors = page.locator("#row-errors tbody tr")
    assert errors.count() == 2
    assert "Напишете кода на общината, например SZR12" in errors.nth(0).inner_text()
    assert "Попълнете: редът не съдържа ЕГН" in errors.nth(1).inner_text()
    officer.check("worklist-row-errors")
    assert page.locator('.error-summary a[href="#file"]').count() == 1

    page.get_by_label("CSV файл").set_input_files(listed)
    page.get_by_role("button", name="Изпращане на файла").click()
    page.wait_for_url("**/worklists/csv")
    assert "Списъкът на децата за издирване е приет" in page.content()
    areas = page.locator("#areas tbody tr")
    assert areas.count() == 1
    assert "Екип за обхват – община Казанлък" in areas.first.inner_text()
    officer.check("worklist-imported")

    page.get_by_role("link", name="Справка на механизма за обхват").click()
    page.wait_for_url("**/reports/mechanism")
    assert page.locator("#municipality-SZR12").count() == 1
    officer.check("mechanism-report")
    officer.close()


def _commission(browser: object, base: str, artifacts: Path) -> None:
    with api_as(base, "platform.admin") as admin:
        organisations = admin.get("/api/v1/organisations", params={"limit": 100}).json()["items"]
        commission_id = next(o["id"] for o in organisations if o["code"] == "mkbppmn-kazanlak")
    with api_as(base, "school-koprinka.staff") as teacher:
        alerts = []
        for pin, hours in ((KOPRINKA_PUPIL_PINS[0], 16), (KOPRINKA_PUPIL_PINS[1], 11)):
            child_id = teacher.post("/api/v1/children/lookup", json={"pin": pin}).json()["id"]
            raised = teacher.post(
                "/api/v1/alerts",
                json={"child_id": child_id, "type": "unexcused_absences",
                      "details": {"month": "2026-10", "unexcused_hours": hours}},
            )
            assert raised.status_code == 201, raised.text
            alerts.append(raised.json()["id"])
    referred_id, kept_id = alerts
    with api_as(base, "cp-kazanlak.cp") as cp:
        etag = cp.get(f"/api/v1/alerts/{referred_id}").headers["ETag"]
        referred = cp.post(
            f"/api/v1/alerts/{referred_id}/actions", json={"kind": "referral", "recipient_id": commission_id},
            headers={"If-Match": etag},
        )
        assert referred.status_code == 200, referred.text

    commission = Walk(browser, base, artifacts, "commission")
    commission.sign_in("mkbppmn-kazanlak.commission")
    page = commission.page
    menu = page.locator("nav.menu")
    assert menu.get_by_role("link", name="Списъци за издирване").count() == 0
    assert menu.get_by_role("link", name="Справка", exact=True).count() == 0
    menu.get_by_role("link", name="Входящи").first.click()
    page.wait_for_url("**/inbox")
    commission.check("inbox")
    assert page.locator(f'a[href="/alerts/{referred_id}"]').count() >= 1
    assert page.locator(f'a[href="/alerts/{kept_id}"]').count() == 0, "an alert not referred is in the inbox"
    page.locator(f'a[href="/alerts/{referred_id}"]').first.click()
    page.wait_for_url(f"**/alerts/{referred_id}")
    assert "Неизвинени отсъствия" in page.content()
    commission.check("alert")
    page.goto(f"/alerts/{kept_id}")
    assert "Страницата не е намерена" in page.content()
    commission.check("alert-not-referred")
    commission.close()
