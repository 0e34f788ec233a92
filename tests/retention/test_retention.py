"""Issue [7/9]: data retention, rule by rule, with frozen time (the service takes `now`).

Data is made through the API at the real time, or written with explicit timestamps; each rule is
then run at a moment just before and just after its period ends."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from service.alerts.models import Alert, AlertAction
from service.audit.models import AuditEvent, AuditHead
from service.audit.verify import verify_chain
from service.children.models import Child, Enrolment
from service.consent.models import Consent
from service.core.clock import local_today, utcnow
from service.delivery.models import DeliveryAttempt, OutboxDelivery, Webhook
from service.idempotency.models import IdempotencyRecord
from service.retention import service as retention
from tests.alerts import test_demo_walk as demo_walk
from tests.conftest import OPERATOR

NOW = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)  # when data written with explicit timestamps happened


def later(moment: datetime, *, years: int = 0, days: int = 0) -> datetime:
    return moment.replace(year=moment.year + years) + timedelta(days=days)


def egn(birth: date, serial: int) -> str:
    """A valid ЕГН for a child born in 2000-2099."""
    digits = f"{birth.year % 100:02d}{birth.month + 40:02d}{birth.day:02d}{serial:03d}"
    check = sum(int(d) * w for d, w in zip(digits, (2, 4, 8, 5, 10, 9, 7, 3, 6), strict=True)) % 11
    return digits + str(check % 10)


async def run(database, now: datetime, *, dry_run: bool = False) -> tuple[retention.Plan, dict[str, int] | None]:
    async with database.transaction() as session:
        plan = await retention.plan(session, now=now, periods=retention.Periods())
        done = None if dry_run else await retention.apply(session, actor=OPERATOR, plan=plan)
    return plan, done


def planned(plan: retention.Plan, rule: str) -> set[str]:
    return {target.resource_id for target in plan.targets[rule]}


async def retention_events(database) -> list[AuditEvent]:
    async with database.transaction() as session:
        rows = await session.execute(
            select(AuditEvent).where(AuditEvent.action.like("retention.%")).order_by(AuditEvent.seq)  # type: ignore[attr-defined]
        )
        return list(rows.scalars())


async def add_child(database, *, created_at: datetime = NOW, **fields) -> uuid.UUID:
    child = Child(
        pin_hash=uuid.uuid4().hex + uuid.uuid4().hex, given_name="Калина", family_name="Тестова",
        date_of_birth=date(2015, 3, 12), sex="female", municipality_code="SZR12", created_at=created_at, **fields,
    )
    async with database.transaction() as session:
        session.add(child)
    return child.id


async def add_alert(database, world, child_id: uuid.UUID, *, status: str, updated_at: datetime = NOW) -> uuid.UUID:
    alert = Alert(
        child_id=child_id, municipality_code="SZR12", source_organisation_id=await world.organisation_id("cp-kazanlak"),
        author_id="test", type="dropout_risk", severity="concern", details={}, legal_basis="public_task",
        status=status, note="Бележка с име.", created_at=NOW, updated_at=updated_at,
        closed_at=updated_at if status == "closed" else None, outcome="unfounded" if status == "closed" else None,
    )
    async with database.transaction() as session:
        session.add(alert)
    return alert.id


async def child_row(database, child_id) -> Child:
    async with database.transaction() as session:
        child = await session.get(Child, child_id)
        assert child is not None
        return child


# -- children -------------------------------------------------------------------------------------


async def test_a_child_inactive_for_five_years_is_anonymised_and_keeps_its_id(client, world, database):
    cp = await world.headers("cp-kazanlak.cp")
    pin = egn(date(2015, 3, 12), 481)
    registered = await client.post("/api/v1/children", headers=cp, json={
        "pin": pin, "given_name": "Калина", "family_name": "Тестова", "sex": "female", "municipality_code": "SZR12",
    })
    assert registered.status_code == 201, registered.text
    child_id = registered.json()["id"]
    created = (await child_row(database, uuid.UUID(child_id))).created_at

    too_early, _ = await run(database, later(created, years=5, days=-1), dry_run=True)
    assert child_id not in planned(too_early, "children")
    plan, done = await run(database, later(created, years=5, days=1))

    assert child_id in planned(plan, "children") and done is not None and done["children"] >= 1
    child = await child_row(database, uuid.UUID(child_id))
    assert (child.pin_hash, child.given_name, child.family_name, child.date_of_birth) == (None, None, None, None)
    assert child.anonymised_at is not None and child.sex == "female" and child.municipality_code == "SZR12"
    read = await client.get(f"/api/v1/children/{child_id}", headers=cp)
    assert read.status_code == 200, read.text
    assert read.json()["given_name"] is None and read.json()["anonymised_at"] is not None
    assert (await client.post("/api/v1/children/lookup", json={"pin": pin}, headers=cp)).status_code == 404
    again = await client.post("/api/v1/children", headers=cp, json={
        "pin": pin, "given_name": "Калина", "family_name": "Тестова", "sex": "female", "municipality_code": "SZR12",
    })
    assert again.status_code == 201 and again.json()["id"] != child_id  # a new record; the old one stays anonymous

    events = [e for e in await retention_events(database) if e.resource_id == child_id]
    assert [(e.action, e.resource_type, e.child_id, e.actor_id, e.decision) for e in events] == [
        ("retention.child.anonymise", "child", uuid.UUID(child_id), OPERATOR.id, "allow"),
    ]


async def test_an_open_alert_or_a_current_enrolment_keeps_a_child(world, database):
    with_open_alert = await add_child(database)
    await add_alert(database, world, with_open_alert, status="open")
    enrolled = await add_child(database)
    async with database.transaction() as session:
        session.add(Enrolment(child_id=enrolled, school_id=await world.organisation_id("school-koprinka"), grade=3,
                              start_date=date(2025, 9, 15)))
    idle = await add_child(database)

    plan, _ = await run(database, later(NOW, years=20), dry_run=True)

    assert str(idle) in planned(plan, "children")
    assert str(with_open_alert) not in planned(plan, "children")
    assert str(enrolled) not in planned(plan, "children")
    async with database.transaction() as session:
        demo_children = (await session.execute(select(func.count()).select_from(Child))).scalar_one()
    assert len(planned(plan, "children")) < demo_children  # the demo pupils are all enrolled now


async def test_last_activity_is_the_latest_alert_update_enrolment_end_or_creation(world, database):
    alert_later = await add_child(database)
    await add_alert(database, world, alert_later, status="closed", updated_at=later(NOW, years=2))
    enrolment_ended_later = await add_child(database)
    async with database.transaction() as session:
        session.add(Enrolment(child_id=enrolment_ended_later, school_id=await world.organisation_id("school-koprinka"),
                              grade=3, start_date=date(2024, 9, 15), end_date=date(2027, 6, 30)))
    created_only = await add_child(database)

    def due(plan) -> set[uuid.UUID]:
        return {uuid.UUID(i) for i in planned(plan, "children")} & {alert_later, enrolment_ended_later, created_only}

    assert due((await run(database, later(NOW, years=5, days=-1), dry_run=True))[0]) == set()
    assert due((await run(database, later(NOW, years=5, days=1), dry_run=True))[0]) == {created_only}
    assert due((await run(database, datetime(2032, 7, 1, 10, tzinfo=UTC), dry_run=True))[0]) == {
        created_only, enrolment_ended_later,
    }
    assert due((await run(database, later(NOW, years=7, days=1), dry_run=True))[0]) == {
        created_only, enrolment_ended_later, alert_later,
    }


# -- texts of closed alerts ----------------------------------------------------------------------


async def test_closed_alerts_notes_outcome_reasons_and_action_texts_are_cleared_five_years_after_closure(
    client, world, database
):
    await demo_walk.test_koprinka_absences_walk_reaches_the_right_agencies_and_back(client, world)
    async with database.transaction() as session:
        closed = (await session.execute(select(Alert).where(Alert.status == "closed"))).scalar_one()
        open_alert = (await session.execute(select(Alert).where(Alert.status == "open"))).scalar_one()
        closed.outcome_reason = "Причина с подробности."
        closed_id, closed_at, updated_at, version = closed.id, closed.closed_at, closed.updated_at, closed.version
        open_alert.note = "Бележка по отворен сигнал."

    too_early, _ = await run(database, later(closed_at, years=5, days=-1), dry_run=True)
    assert str(closed_id) not in planned(too_early, "alert_texts")
    plan, done = await run(database, later(closed_at, years=5, days=1))

    assert planned(plan, "alert_texts") == {str(closed_id)} and done["alert_texts"] == 1
    async with database.transaction() as session:
        alert = await session.get(Alert, closed_id)
        texts = (await session.execute(select(AlertAction.text).where(AlertAction.alert_id == closed_id))).scalars()
        still_open = await session.get(Alert, open_alert.id)
        assert (alert.note, alert.outcome_reason, alert.outcome) == (None, None, "returned_to_school")
        assert list(texts) == [None, None]
        assert alert.updated_at == updated_at and alert.version == version + 1
        assert still_open.note == "Бележка по отворен сигнал."
    [event] = [e for e in await retention_events(database) if e.resource_type == "alert"]
    assert (event.resource_id, event.child_id) == (str(closed_id), alert.child_id)


# -- consents ------------------------------------------------------------------------------------


async def test_expired_or_withdrawn_consents_lose_the_guardian_name_after_three_years(client, world, database):
    cp = await world.headers("cp-kazanlak.cp")
    teacher = await world.headers("school-koprinka.staff")
    child_id = (await client.post("/api/v1/children/lookup", json={"pin": demo_walk.KOPRINKA_PUPIL_PIN},
                                  headers=teacher)).json()["id"]
    today = local_today()
    provider = str(await world.organisation_id("provider-kazanlak"))

    async def consent(valid_until: date) -> str:
        made = await client.post(f"/api/v1/children/{child_id}/consents", headers=cp, json={
            "guardian_name": "Мария Ангелова", "guardian_relationship": "mother", "purposes": ["support_services"],
            "recipient_ids": [provider], "valid_from": today.isoformat(), "valid_until": valid_until.isoformat(),
            "evidence": "вх. № 123/2026",
        })
        assert made.status_code == 201, made.text
        return made.json()["id"]

    expiring = await consent(today + timedelta(days=200))
    withdrawn = await consent(today + timedelta(days=3000))
    assert (await client.post(f"/api/v1/consents/{withdrawn}/withdraw", json={"reason": "Оттеглено."},
                              headers=cp)).status_code == 200
    start = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=10)

    assert planned((await run(database, later(start, years=3, days=-1), dry_run=True))[0], "consents") == set()
    assert planned((await run(database, later(start, years=3, days=1), dry_run=True))[0], "consents") == {withdrawn}
    plan, done = await run(database, later(start, years=3, days=202))

    assert planned(plan, "consents") == {expiring, withdrawn} and done["consents"] == 2
    listed = await client.get(f"/api/v1/children/{child_id}/consents", headers=cp)
    kept = {c["id"]: c for c in listed.json()["items"]}
    assert {kept[expiring]["guardian_name"], kept[withdrawn]["guardian_name"]} == {None}
    assert kept[expiring]["guardian_relationship"] == "mother" and kept[withdrawn]["state"] == "withdrawn"


# -- idempotency records and the outbox ----------------------------------------------------------


async def test_idempotency_records_are_purged_after_thirty_days_and_audited_by_digest(client, world, database):
    teacher = await world.headers("school-koprinka.staff", **{"Idempotency-Key": "koprinka-angel-2026-10"})
    child_id = (await client.post("/api/v1/children/lookup", json={"pin": demo_walk.KOPRINKA_PUPIL_PIN},
                                  headers=teacher)).json()["id"]
    raised = await client.post("/api/v1/alerts", headers=teacher, json={
        "child_id": child_id, "type": "unexcused_absences", "details": {"month": "2026-10", "unexcused_hours": 12},
    })
    assert raised.status_code == 201, raised.text
    async with database.transaction() as session:
        record = (await session.execute(select(IdempotencyRecord))).scalar_one()
        principal_id, created = record.principal_id, record.created_at
    digest = hashlib.sha256(f"{principal_id}\x1fkoprinka-angel-2026-10".encode()).hexdigest()

    assert planned((await run(database, created + timedelta(days=29), dry_run=True))[0], "idempotency_records") == set()
    plan, done = await run(database, created + timedelta(days=31))

    assert planned(plan, "idempotency_records") == {digest} and done["idempotency_records"] == 1
    async with database.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(IdempotencyRecord))).scalar_one() == 0
    [event] = [e for e in await retention_events(database) if e.resource_type == "idempotency_record"]
    assert event.resource_id == digest and "angel" not in (event.reason + event.resource_id)


async def test_delivered_outbox_rows_are_purged_with_their_attempts_and_pending_ones_stay(world, database):
    org = await world.organisation_id("cp-kazanlak")
    webhook = Webhook(organisation_id=org, url="https://cp.example/hooks", events=["alert.routed"], secret="whsec_x",
                      created_by="test")

    def delivery(seq: int, status: str, delivered_at: datetime | None) -> OutboxDelivery:
        return OutboxDelivery(seq=seq, event_id=uuid.uuid4(), event_type="alert.routed", webhook_id=webhook.id,
                              ordering_key="a", payload={}, status=status, delivered_at=delivered_at, created_at=NOW)

    old, recent = delivery(1, "delivered", NOW), delivery(2, "delivered", later(NOW, days=20))
    pending = delivery(3, "pending", None)
    async with database.transaction() as session:
        session.add(webhook)
        await session.flush()
        session.add_all([old, recent, pending])
        await session.flush()
        session.add(DeliveryAttempt(delivery_id=old.id, webhook_id=webhook.id, status_code=200))

    plan, done = await run(database, later(NOW, days=31))

    assert planned(plan, "outbox_deliveries") == {str(old.id)} and done["outbox_deliveries"] == 1
    async with database.transaction() as session:
        left = set((await session.execute(select(OutboxDelivery.id))).scalars())
        attempts = (await session.execute(select(func.count()).select_from(DeliveryAttempt))).scalar_one()
    assert left == {recent.id, pending.id} and attempts == 0


# -- dry run, audit --------------------------------------------------------------------------------


async def _every_rule_has_work(client, world, database) -> datetime:
    """A walk, an old idle child, an old withdrawn consent, an old delivered webhook event; and
    the moment at which every rule applies."""
    await demo_walk.test_koprinka_absences_walk_reaches_the_right_agencies_and_back(client, world)
    child = await add_child(database, created_at=later(NOW, years=-1))
    async with database.transaction() as session:
        session.add(Consent(child_id=child, guardian_name="Мария Ангелова", guardian_relationship="mother",
                            purposes=["support_services"], valid_from=date(2024, 1, 1), valid_until=date(2024, 12, 31),
                            evidence="вх. № 1", recorded_by="test",
                            recorded_by_organisation_id=await world.organisation_id("cp-kazanlak")))
        session.add(IdempotencyRecord(principal_id="someone", key="old-key", operation="alerts.create",
                                      request_hash="0" * 64, response_status=201, response_body={}, created_at=NOW))
    return later(utcnow(), years=5, days=2)


async def _snapshot(database) -> dict:
    async with database.transaction() as session:
        head = (await session.execute(select(AuditHead.seq, AuditHead.hash))).one()
        children = (await session.execute(select(Child.id, Child.given_name, Child.pin_hash).order_by(Child.id))).all()
        alerts = (await session.execute(select(Alert.id, Alert.note, Alert.version).order_by(Alert.id))).all()
        actions = (await session.execute(select(AlertAction.id, AlertAction.text).order_by(AlertAction.id))).all()
        consents = (await session.execute(select(Consent.id, Consent.guardian_name).order_by(Consent.id))).all()
        keys = (await session.execute(select(IdempotencyRecord.key).order_by(IdempotencyRecord.key))).all()
    return {"head": tuple(head), "children": children, "alerts": alerts, "actions": actions, "consents": consents,
            "keys": keys}


async def test_a_dry_run_counts_what_would_change_and_changes_nothing(client, world, database):
    moment = await _every_rule_has_work(client, world, database)
    before = await _snapshot(database)

    plan, done = await run(database, moment, dry_run=True)

    assert done is None
    assert all(plan.counts[rule] >= 1 for rule in ("children", "alert_texts", "consents", "idempotency_records"))
    assert await _snapshot(database) == before
    assert await retention_events(database) == []


async def test_a_run_audits_each_record_without_names_and_the_chain_still_verifies(client, world, database):
    moment = await _every_rule_has_work(client, world, database)
    plan, done = await run(database, moment)
    seen: list[int] = []

    async with database.transaction() as session:
        verification = await verify_chain(session, progress=seen.append)
        head = (await session.execute(select(AuditHead.seq))).scalar_one()
        dump = " ".join(str(row) for row in (await session.execute(select(AuditEvent))).all())

    assert verification.ok, verification.problem
    assert verification.checked == head == len(seen)
    assert done == plan.counts
    events = await retention_events(database)
    assert len(events) == sum(done.values())
    assert {(e.resource_type, e.resource_id) for e in events} == {
        (rule.resource_type, target.resource_id) for rule in retention.RULES for target in plan.targets[rule.name]
    }
    assert {e.actor_id for e in events} == {OPERATOR.id} and {e.basis for e in events} == {"legal_obligation"}
    for name in ("Калина", "Мария", "Ангел", "old-key", "Семейството"):
        assert name not in dump
    again, _ = await run(database, moment, dry_run=True)
    assert again.total == 0  # nothing is done twice
