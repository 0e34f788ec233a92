"""Two releases of one enrolment at once (a double click, two tabs): exactly one is made and
raises the left_education alert; the other sees the committed release and gets 409."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import httpx
from sqlalchemy import func, select

from service.alerts.models import Alert
from service.app import create_app
from service.demo.loader import DEFAULT_DEMO_FILE, load_demo
from tests.children.helpers import egn_for
from tests.conftest import OPERATOR, RUN_LOG, World, _Tee


async def test_two_concurrent_releases_of_one_enrolment_release_it_once(committed_database, settings):
    app = create_app(settings, database=committed_database, log_stream=_Tee(RUN_LOG))
    app.state.clock = lambda: date(2027, 2, 1)
    await load_demo(settings=settings, database=committed_database, path=DEFAULT_DEMO_FILE, actor=OPERATOR)
    world = World(app, committed_database)
    admin = await world.headers("school-koprinka.admin")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://obhvat.test") as api:
        child = await api.post(
            "/api/v1/children",
            json={"pin": egn_for(date(2015, 4, 20), serial=7), "given_name": "Калина", "family_name": "Стойчева",
                  "sex": "female", "municipality_code": "SZR12"},
            headers=admin,
        )
        assert child.status_code == 201, child.text
        enrolled = await api.post(
            "/api/v1/enrolments",
            json={"child_id": child.json()["id"], "school_id": str(await world.organisation_id("school-koprinka")),
                  "grade": 5, "start_date": "2026-09-15"},
            headers=admin,
        )
        assert enrolled.status_code == 201, enrolled.text
        url = f"/api/v1/enrolments/{enrolled.json()['id']}/release"
        answers = await asyncio.gather(
            *(api.post(url, json={"destination": "unknown"}, headers=admin) for _ in range(2))
        )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    async with committed_database.transaction() as session:
        left = await session.execute(
            select(func.count()).select_from(Alert).where(
                Alert.child_id == uuid.UUID(child.json()["id"]), Alert.type == "left_education"
            )
        )
        assert left.scalar_one() == 1
