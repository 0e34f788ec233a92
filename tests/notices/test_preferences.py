"""Issue 19: `GET/PUT /me/notifications` — which notices a person gets by e-mail; and the SMTP
settings refused where they would send in clear."""

from __future__ import annotations

import pytest

from service.core.settings import SettingsError, load_settings
from tests.core.helpers import assert_problem
from tests.notices.helpers import choose


async def test_a_person_who_never_chose_sees_the_defaults_and_no_address(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    response = await client.get("/api/v1/me/notifications", headers=cp)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "email": None,
        "language": "bg",
        "events": ["alert_assigned", "alert_overdue", "alert_closed", "break_glass", "known_to_cp"],
        "digest_hour": None,
        "urgent_immediately": True,
    }


async def test_a_choice_is_kept_and_read_back(client, world):
    cp = await world.headers("cp-kazanlak.cp")
    await choose(client, cp, "ivanova@dsp-kazanlak.example.bg", ["alert_routed", "alert_routed"],
                 language="en", digest_hour=7)
    again = (await client.get("/api/v1/me/notifications", headers=cp)).json()
    assert again["email"] == "ivanova@dsp-kazanlak.example.bg"
    assert again["events"] == ["alert_routed"] and again["language"] == "en" and again["digest_hour"] == 7
    # another person's choice is their own
    other = (await client.get("/api/v1/me/notifications", headers=await world.headers("police-kazanlak.police")))
    assert other.json()["email"] is None


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"email": "not an address", "events": []}, "#/email"),
        ({"email": "a@b.bg", "events": ["everything"]}, "#/events/0"),
        ({"email": "a@b.bg", "events": [], "digest_hour": 24}, "#/digest_hour"),
        ({"email": "a@b.bg", "events": [], "language": "de"}, "#/language"),
    ],
)
async def test_a_bad_choice_is_a_problem_naming_the_field_and_nothing_changes(client, world, body, pointer):
    cp = await world.headers("cp-kazanlak.cp")
    problem = assert_problem(await client.put("/api/v1/me/notifications", json=body, headers=cp), 422)
    assert pointer in [error["pointer"] for error in problem["errors"]]
    assert (await client.get("/api/v1/me/notifications", headers=cp)).json()["email"] is None


async def test_a_system_client_has_no_notice_preferences(client, world, admin):
    created = await client.post(
        "/api/v1/clients",
        json={"name": "Е-дневник", "organisation_id": str(await world.organisation_id("school-koprinka")),
              "roles": ["school_staff"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    token = await client.post("/api/v1/auth/token", data={
        "grant_type": "client_credentials", "client_id": created.json()["client_id"],
        "client_secret": created.json()["client_secret"]})
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert_problem(await client.get("/api/v1/me/notifications", headers=bearer), 403)


async def test_without_a_token_preferences_are_401(client):
    assert_problem(await client.get("/api/v1/me/notifications"), 401)


def test_a_bad_smtp_url_is_refused_naming_the_variable():
    with pytest.raises(SettingsError, match="OBHVAT_SMTP_URL"):
        load_settings(smtp_url="http://mail.example.bg")


def test_production_refuses_smtp_in_clear_to_another_host(tmp_path):
    production = {
        "environment": "production", "pin_secret": "p" * 40, "webhook_secret_key": "w" * 40,
        "database_url": "postgresql+psycopg://obhvat@db/obhvat", "public_url": "https://obhvat.example.bg",
        "data_dir": tmp_path,
    }
    with pytest.raises(SettingsError, match="OBHVAT_SMTP_URL must use smtps://"):
        load_settings(**production, smtp_url="smtp://mail.example.bg:25")
    assert load_settings(**production, smtp_url="smtp://mail.example.bg:587", smtp_starttls=True).smtp_starttls
    assert load_settings(**production, smtp_url="smtps://user:secret@mail.example.bg").smtp_url
