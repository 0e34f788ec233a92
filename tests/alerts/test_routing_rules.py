"""Routing rules as data (DESIGN §3, §7): the administrator reads and replaces them, and the next
alert follows the new rule."""

from __future__ import annotations

import copy

import pytest

from tests.alerts.helpers import KOPRINKA_PUPIL_PINS, by_organisation, pupil_id, raise_alert
from tests.core.helpers import assert_problem, pointers

#: DESIGN §3: type → default recipient kinds (the first leads), default legal basis
DESIGN_DEFAULTS = {
    "unexcused_absences": (["child_protection", "municipality"], "legal_obligation", None),
    "dropout_risk": (["municipality", "child_protection"], "public_task", None),
    "not_enrolled": (["municipality", "child_protection"], "public_task", None),
    "left_education": (["municipality", "child_protection"], "public_task", None),
    "whereabouts_unknown": (["police", "municipality"], "public_task", None),
    "abuse_or_neglect_suspected": (["child_protection", "police"], "legal_obligation", "urgent"),
    "support_needed": (["service_provider"], "consent", None),
    "found_out_of_school": (["school", "child_protection"], "public_task", None),
}


async def _rules(client, admin) -> list[dict]:
    response = await client.get("/api/v1/routing-rules", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _changed(rules: list[dict], alert_type: str, **changes) -> list[dict]:
    rules = copy.deepcopy(rules)
    for rule in rules:
        if rule["alert_type"] == alert_type:
            rule.update(changes)
    return rules


async def test_the_administrator_sees_the_eight_default_rules_of_the_design(client, admin):
    rules = await _rules(client, admin)
    assert len(rules) == 8
    assert {
        r["alert_type"]: (r["recipient_kinds"], r["legal_basis"], r["forced_severity"]) for r in rules
    } == DESIGN_DEFAULTS


async def test_changing_the_dropout_rule_changes_the_lead_of_the_next_alert(client, world, admin):
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])
    cp_id = str(await world.organisation_id("cp-kazanlak"))
    mun_id = str(await world.organisation_id("mun-kazanlak"))

    before = await raise_alert(client, teacher, child_id, "dropout_risk")
    assert by_organisation(before)[mun_id]["lead"] is True
    assert by_organisation(before)[cp_id]["lead"] is False

    new_rules = _changed(await _rules(client, admin), "dropout_risk",
                         recipient_kinds=["child_protection", "municipality"])
    replaced = await client.put("/api/v1/routing-rules", json={"items": new_rules}, headers=admin)
    assert replaced.status_code == 200, replaced.text
    assert {r["alert_type"]: r["recipient_kinds"] for r in replaced.json()["items"]}["dropout_risk"] == [
        "child_protection", "municipality",
    ]
    assert {r["alert_type"]: r["recipient_kinds"] for r in await _rules(client, admin)}["dropout_risk"] == [
        "child_protection", "municipality",
    ]

    after = await raise_alert(client, teacher, child_id, "dropout_risk")
    assert set(by_organisation(after)) == {cp_id, mun_id}
    assert by_organisation(after)[cp_id]["lead"] is True
    assert by_organisation(after)[mun_id]["lead"] is False
    # the alert raised earlier keeps the lead it was routed with
    earlier = await client.get(f"/api/v1/alerts/{before['id']}", headers=teacher)
    assert by_organisation(earlier.json())[mun_id]["lead"] is True


async def test_a_rule_can_add_a_recipient_and_force_a_severity(client, world, admin):
    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])
    police_id = str(await world.organisation_id("police-kazanlak"))
    new_rules = _changed(
        await _rules(client, admin), "left_education",
        recipient_kinds=["municipality", "child_protection", "police"], forced_severity="urgent",
    )
    assert (await client.put("/api/v1/routing-rules", json={"items": new_rules}, headers=admin)).status_code == 200

    alert = await raise_alert(client, teacher, child_id, "left_education", severity="info",
                              details={"left_on": "2026-11-02"})
    assert alert["severity"] == "urgent"
    assert police_id in by_organisation(alert)
    police = await world.headers("police-kazanlak.police")
    inbox = (await client.get("/api/v1/inbox", headers=police)).json()
    assert [item["alert"]["id"] for item in inbox["items"]] == [alert["id"]]


async def test_a_rule_set_missing_a_type_is_refused_and_nothing_changes(client, admin):
    rules = await _rules(client, admin)
    incomplete = [r for r in rules if r["alert_type"] != "not_enrolled"]
    response = await client.put("/api/v1/routing-rules", json={"items": incomplete}, headers=admin)
    body = assert_problem(response, 422)
    assert "not_enrolled" in body["detail"]
    assert await _rules(client, admin) == rules


async def test_a_rule_set_listing_a_type_twice_is_refused_and_nothing_changes(client, admin):
    rules = await _rules(client, admin)
    duplicated = rules + [
        {**next(r for r in rules if r["alert_type"] == "dropout_risk"), "recipient_kinds": ["municipality"]}
    ]
    response = await client.put("/api/v1/routing-rules", json={"items": duplicated}, headers=admin)
    body = assert_problem(response, 422)
    assert f"#/items/{len(rules)}/alert_type" in pointers(body)
    assert await _rules(client, admin) == rules


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"recipient_kinds": []}, "no recipients"),
        ({"recipient_kinds": ["municipality", "municipality"]}, "a kind twice"),
        ({"recipient_kinds": ["ministry"]}, "an unknown kind"),
        ({"legal_basis": "curiosity"}, "an unknown basis"),
        ({"forced_severity": "apocalyptic"}, "an unknown severity"),
        ({"colour": "red"}, "an unknown field"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
async def test_a_malformed_rule_is_refused(client, admin, change, why):
    rules = await _rules(client, admin)
    response = await client.put(
        "/api/v1/routing-rules", json={"items": _changed(rules, "dropout_risk", **change)}, headers=admin
    )
    assert_problem(response, 422)
    assert await _rules(client, admin) == rules


@pytest.mark.parametrize(
    "username", ["cp-kazanlak.cp", "school-koprinka.admin", "mun-kazanlak.municipal", "rue-lovech.auditor"]
)
async def test_only_the_administrator_reads_or_changes_routing_rules(client, world, admin, username):
    rules = await _rules(client, admin)
    headers = await world.headers(username)
    assert_problem(await client.get("/api/v1/routing-rules", headers=headers), 403)
    changed = _changed(rules, "dropout_risk", recipient_kinds=["child_protection"])
    assert_problem(await client.put("/api/v1/routing-rules", json={"items": changed}, headers=headers), 403)
    assert await _rules(client, admin) == rules


async def test_routing_rules_need_authentication(client):
    assert_problem(await client.get("/api/v1/routing-rules"), 401)


async def test_a_rule_cannot_make_public_bodies_share_on_the_basis_of_consent(client, world, admin):
    """DESIGN §3: a public authority cannot rely on consent as its basis; consent is the sharing
    condition of support_needed referrals to providers. A rule saying otherwise would route
    consent-based alerts to agencies without any consent."""
    rules = await _rules(client, admin)
    response = await client.put(
        "/api/v1/routing-rules", json={"items": _changed(rules, "dropout_risk", legal_basis="consent")}, headers=admin
    )
    body = assert_problem(response, 422)
    index = next(i for i, r in enumerate(rules) if r["alert_type"] == "dropout_risk")
    assert f"#/items/{index}/legal_basis" in pointers(body)
    assert await _rules(client, admin) == rules

    teacher = await world.headers("school-koprinka.staff")
    child_id = await pupil_id(client, teacher, KOPRINKA_PUPIL_PINS[0])
    alert = await raise_alert(client, teacher, child_id, "dropout_risk")
    assert alert["legal_basis"] == "public_task"


async def test_the_support_needed_rule_stays_on_the_basis_of_consent(client, admin):
    rules = await _rules(client, admin)
    response = await client.put(
        "/api/v1/routing-rules",
        json={"items": _changed(rules, "support_needed", legal_basis="public_task")},
        headers=admin,
    )
    assert_problem(response, 422)
    assert await _rules(client, admin) == rules
