"""Issue 15 item 10: the demo (platform.admin with a published password) is never loaded into a
production database, whoever calls the loader."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.core.database import Database
from service.core.settings import Environment, Settings
from service.demo.loader import DEFAULT_DEMO_FILE, DemoRefused, load_demo
from service.organisations.models import Organisation, User
from tests.conftest import OPERATOR


async def test_loading_the_demo_in_production_is_refused_and_writes_nothing(
    settings: Settings, database: Database
) -> None:
    production = settings.model_copy(update={"environment": Environment.production})
    with pytest.raises(DemoRefused, match="production"):
        await load_demo(settings=production, database=database, path=DEFAULT_DEMO_FILE, actor=OPERATOR)
    async with database.transaction() as session:
        users = (await session.execute(select(func.count()).select_from(User))).scalar_one()
        organisations = (await session.execute(select(func.count()).select_from(Organisation))).scalar_one()
    assert (users, organisations) == (0, 0)
