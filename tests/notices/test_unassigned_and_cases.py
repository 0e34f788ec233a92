"""Issue 19: an urgent alert nobody of my organisation has been given is flagged in my inbox and
on the alert until someone is assigned; "my cases" comes in cursor pages, overdue first."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlmodel import col

from service.alerts.models import AlertRecipient
from service.core.clock import utcnow
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, current_etag, pupil_id, raise_alert
from tests.notices.helpers import user_id


async def _assign(client, headers, alert_id, assignee_id):
    etag = await current_etag(client, headers, alert_id)
    answer = await client.post(
        f"/api/v1/alerts/{alert_id}/assign", json={"assignee_id": assignee_id}, headers={**headers, "If-Match": etag}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _inbox_flags(client, headers) -> dict[str, bool]:
    inbox = await client.get("/api/v1/inbox", headers=headers)
    assert inbox.status_code == 200, inbox.text
    return {i["alert"]["id"]: i["alert"]["unassigned_urgent"] for i in inbox.json()["items"] if i["kind"] == "alert"}


async def test_an_urgent_alert_is_flagged_for_the_recipient_until_someone_is_assigned(client, world):
    teacher = await world.headers("school-koprinka.staff")
    cp = await world.headers("cp-kazanlak.cp")
    urgent = await raise_alert(client, teacher, await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0]),
                               "abuse_or_neglect_suspected", severity="urgent")
    usual = await raise_alert(client, teacher, await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[1]))
    flags = await _inbox_flags(client, cp)
    assert (flags[urgent["id"]], flags[usual["id"]]) == (True, False)
    assert (await client.get(f"/api/v1/alerts/{urgent['id']}", headers=cp)).json()["unassigned_urgent"] is True
    # the school raised it and has no part to assign: nothing to flag for it
    assert (await client.get(f"/api/v1/alerts/{urgent['id']}", headers=teacher)).json()["unassigned_urgent"] is False

    assigned = await _assign(client, cp, urgent["id"], await user_id(client, cp))
    assert assigned["unassigned_urgent"] is False
    assert (await _inbox_flags(client, cp))[urgent["id"]] is False


async def test_my_cases_come_in_cursor_pages_that_add_up_to_the_whole_list(client, world):
    teacher = await world.headers("school-koprinka.staff")
    cp = await world.headers("cp-kazanlak.cp")
    me = await user_id(client, cp)
    raised = []
    for pin in KOPRINKA_PUPIL_PINS:
        alert = await raise_alert(client, teacher, await pupil_id(client, teacher, pin))
        await _assign(client, cp, alert["id"], me)
        raised.append(alert["id"])
    whole = (await client.get("/api/v1/my/cases", headers=cp)).json()
    assert whole["next"] is None
    assert sorted(a["id"] for a in whole["items"]) == sorted(raised)

    first = await client.get("/api/v1/my/cases", params={"limit": 2}, headers=cp)
    assert first.status_code == 200
    assert len(first.json()["items"]) == 2 and first.json()["next"]
    assert 'rel="next"' in first.headers["Link"]
    second = (await client.get("/api/v1/my/cases", params={"limit": 2, "after": first.json()["next"]},
                               headers=cp)).json()
    assert second["next"] is None
    assert [a["id"] for a in first.json()["items"] + second["items"]] == [a["id"] for a in whole["items"]]


async def test_a_cursor_not_issued_by_the_service_is_refused_naming_the_parameter(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    answer = await client.get("/api/v1/my/cases", params={"after": "bm90LWEtY3Vyc29y"}, headers=cp)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["parameter"] == "after"


async def test_paging_one_by_one_keeps_the_overdue_case_first(client, world, database):
    teacher = await world.headers("school-koprinka.staff")
    cp = await world.headers("cp-kazanlak.cp")
    me = await user_id(client, cp)
    raised = []
    for pin in KOPRINKA_PUPIL_PINS:
        alert = await raise_alert(client, teacher, await pupil_id(client, teacher, pin))
        await _assign(client, cp, alert["id"], me)
        raised.append(alert["id"])
    # the newest one has passed its deadline unacknowledged
    async with database.transaction() as session:
        await session.execute(
            update(AlertRecipient).where(col(AlertRecipient.alert_id) == uuid.UUID(raised[2])).values(
                overdue_at=utcnow()
            )
        )
    seen, after = [], None
    for _ in range(4):
        params = {"limit": 1, **({"after": after} if after else {})}
        page = (await client.get("/api/v1/my/cases", params=params, headers=cp)).json()
        seen += [a["id"] for a in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert seen == [raised[2], raised[0], raised[1]]
