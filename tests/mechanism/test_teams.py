"""Joint enrolment teams: who creates them and changes their members, and who may assign a case."""

from __future__ import annotations

from tests.mechanism.helpers import COORDINATOR, OFFICER, import_kazanlak_list, post_with_etag, team_id

NEW_TEAM = {"code": "team-shipka", "name": "Екип за обхват – Шипка", "municipality_code": "SZR12",
            "settlement_codes": ["83185"]}


async def test_regional_officer_creates_a_team_of_its_region_with_members_of_any_organisation(client, world):
    officer = await world.headers(OFFICER)
    lead = str(await world.organisation_id("rue-stara-zagora"))
    created = await client.post("/api/v1/teams", json={**NEW_TEAM, "lead_organisation_id": lead}, headers=officer)
    assert created.status_code == 201, created.text
    team = created.json()
    police = (await client.get("/api/v1/me", headers=await world.headers("police-kazanlak.police"))).json()["id"]
    added = await client.post(f"/api/v1/teams/{team['id']}/members", json={"user_id": police}, headers=officer)
    assert added.status_code == 201, added.text
    assert [m["username"] for m in added.json()["members"]] == ["police-kazanlak.police"]
    again = await client.post(f"/api/v1/teams/{team['id']}/members", json={"user_id": police}, headers=officer)
    assert again.status_code == 409
    renamed = await client.patch(f"/api/v1/teams/{team['id']}", json={"name": "Екип Шипка и Енина",
                                                                      "settlement_codes": ["83185", "27499"]},
                                 headers=officer)
    assert renamed.status_code == 200 and renamed.json()["settlement_codes"] == ["27499", "83185"]


async def test_teams_of_another_municipality_are_not_managed_or_seen(client, world):
    lukovit = await world.headers("mun-lukovit.municipal")
    lead = str(await world.organisation_id("mun-kazanlak"))
    refused = await client.post("/api/v1/teams", json={**NEW_TEAM, "lead_organisation_id": lead}, headers=lukovit)
    assert refused.status_code == 403
    kazanlak_team = await team_id(client, await world.headers(COORDINATOR), "team-kazanlak")
    hidden = await client.get(f"/api/v1/teams/{kazanlak_team}", headers=lukovit)
    assert hidden.status_code == 404
    assert "team-kazanlak" not in (await client.get("/api/v1/teams", headers=lukovit)).text


async def test_teachers_and_auditors_do_not_manage_teams_and_auditors_are_never_members(client, world):
    teacher = await world.headers("school-koprinka.staff")
    assert (await client.get("/api/v1/teams", headers=teacher)).status_code == 403
    coordinator = await world.headers(COORDINATOR)
    team = await team_id(client, coordinator, "team-kazanlak")
    auditor = (await client.get("/api/v1/me", headers=await world.headers("rue-lovech.auditor"))).json()["id"]
    refused = await client.post(f"/api/v1/teams/{team}/members", json={"user_id": auditor}, headers=coordinator)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "#/user_id"


async def test_a_team_lead_must_serve_the_municipality(client, world):
    coordinator = await world.headers(COORDINATOR)
    lead = str(await world.organisation_id("mun-lukovit"))
    refused = await client.post("/api/v1/teams", json={**NEW_TEAM, "lead_organisation_id": lead}, headers=coordinator)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "#/lead_organisation_id"


async def test_assigning_to_a_team_is_for_the_enrolment_leads_of_the_alerts_municipality(client, world, app):
    await import_kazanlak_list(client, world)
    coordinator = await world.headers(COORDINATOR)
    listed = await client.get("/api/v1/alerts", params={"type": "not_enrolled"}, headers=coordinator)
    shipka = next(a for a in listed.json()["items"] if a["settlement_code"] == "83185")
    kazanlak = await team_id(client, coordinator, "team-kazanlak")
    # child protection is a recipient, but teams are assigned by the municipality or education office
    cp = await world.headers("cp-kazanlak.cp")
    assert (await post_with_etag(client, cp, shipka["id"], "assign", {"team_id": kazanlak})).status_code == 403
    # a team of another municipality does not take the case
    lukovit_team = await team_id(client, await world.headers("mun-lukovit.municipal"), "team-lukovit")
    other = await post_with_etag(client, coordinator, shipka["id"], "assign", {"team_id": lukovit_team})
    assert other.status_code == 403
    # a team of the municipality that does not cover the child's settlement does not take it either
    lead = str(await world.organisation_id("mun-kazanlak"))
    enina = await client.post("/api/v1/teams", headers=coordinator, json={
        **NEW_TEAM, "code": "team-enina", "settlement_codes": ["27499"], "lead_organisation_id": lead})
    elsewhere = await post_with_etag(client, coordinator, shipka["id"], "assign", {"team_id": enina.json()["id"]})
    assert elsewhere.status_code == 422 and elsewhere.json()["errors"][0]["pointer"] == "#/team_id"
    # the regional officer assigns it; without If-Match nothing changes
    officer = await world.headers(OFFICER)
    stale = await client.post(f"/api/v1/alerts/{shipka['id']}/assign", json={"team_id": kazanlak}, headers=officer)
    assert stale.status_code == 428
    assigned = await post_with_etag(client, officer, shipka["id"], "assign", {"team_id": kazanlak})
    assert assigned.status_code == 200 and assigned.json()["team_id"] == kazanlak


async def test_a_recipient_assigns_its_part_to_its_own_user_only(client, world):
    await import_kazanlak_list(client, world)
    cp = await world.headers("cp-kazanlak.cp")
    listed = await client.get("/api/v1/alerts", params={"type": "not_enrolled"}, headers=cp)
    alert = listed.json()["items"][0]
    own = (await client.get("/api/v1/me", headers=cp)).json()["id"]
    assigned = await post_with_etag(client, cp, alert["id"], "assign", {"assignee_id": own})
    assert assigned.status_code == 200 and assigned.json()["assignee_id"] == own
    police = (await client.get("/api/v1/me", headers=await world.headers("police-kazanlak.police"))).json()["id"]
    refused = await post_with_etag(client, cp, alert["id"], "assign", {"assignee_id": police})
    assert refused.status_code == 403
    # an auditor of the department's own organisation reads no child data: it takes no case
    made = await client.post("/api/v1/users", headers=await world.headers("platform.admin"), json={
        "username": "cp-kazanlak.auditor", "password": "an-auditor-password-2026",
        "organisation_id": str(await world.organisation_id("cp-kazanlak")), "roles": ["auditor"]})
    assert made.status_code == 201, made.text
    auditor = await post_with_etag(client, cp, alert["id"], "assign", {"assignee_id": made.json()["id"]})
    assert auditor.status_code == 422 and auditor.json()["errors"][0]["pointer"] == "#/assignee_id"


async def test_my_cases_lists_what_is_assigned_to_me_or_my_teams(client, world):
    await import_kazanlak_list(client, world)
    coordinator = await world.headers(COORDINATOR)
    listed = await client.get("/api/v1/alerts", params={"type": "not_enrolled"}, headers=coordinator)
    case = next(a for a in listed.json()["items"] if a["settlement_code"] == "38488")
    teacher = await world.headers("school-koprinka.staff")
    assert (await client.get("/api/v1/my/cases", headers=teacher)).json()["items"] == []
    team = await team_id(client, coordinator, "team-kazanlak")
    assert (await post_with_etag(client, coordinator, case["id"], "assign", {"team_id": team})).status_code == 200
    mine = await client.get("/api/v1/my/cases", headers=teacher)
    assert [a["id"] for a in mine.json()["items"]] == [case["id"]]
    other_team = await client.get("/api/v1/my/cases", headers=await world.headers("school-lukovit-1.staff"))
    assert other_team.json()["items"] == []


async def test_a_juvenile_commission_officer_on_the_team_works_its_cases(client, world):
    """A role with no child data of its own (the МКБППМН's officer) reads and works the
    team's cases, and nothing else."""
    officer = await world.headers("mkbppmn-kazanlak.commission")  # the demo's commission officer
    user = await client.get("/api/v1/me", headers=officer)
    await import_kazanlak_list(client, world)
    coordinator = await world.headers(COORDINATOR)
    listed = await client.get("/api/v1/alerts", params={"type": "not_enrolled"}, headers=coordinator)
    case, other = listed.json()["items"][:2]
    team = await team_id(client, coordinator, "team-kazanlak")
    # the commission reads only what was routed to it: another alert is hidden as if absent
    assert (await client.get(f"/api/v1/alerts/{case['id']}", headers=officer)).status_code == 404
    added = await client.post(f"/api/v1/teams/{team}/members", json={"user_id": user.json()["id"]},
                              headers=coordinator)
    assert added.status_code == 201, added.text
    assert (await post_with_etag(client, coordinator, case["id"], "assign", {"team_id": team})).status_code == 200

    assert (await client.get(f"/api/v1/alerts/{case['id']}", headers=officer)).status_code == 200
    history = await client.get(f"/api/v1/children/{case['child_id']}/history", headers=officer)
    assert history.status_code == 200, history.text
    assert {e["alert_id"] for e in history.json()["entries"]} == {case["id"]}
    visit = await post_with_etag(client, officer, case["id"], "actions", {"kind": "field_visit", "result": "not_found"})
    assert visit.status_code == 200, visit.text
    assert (await client.get(f"/api/v1/alerts/{other['id']}", headers=officer)).status_code == 404
    assert (await client.get("/api/v1/my/cases", headers=officer)).json()["items"][0]["id"] == case["id"]


async def _team_case_of_provisional_child(client, world, *, address: str | None = None) -> tuple[str, str]:
    """A provisional child met in Копринка, its `not_enrolled` alert (not yet assigned): (alert, child)."""
    coordinator = await world.headers(COORDINATOR)
    registered = await client.post("/api/v1/children/provisional", headers=coordinator, json={
        "given_name": "Стефка", "family_name": "Рашидова", "birth_year": 2014, "sex": "female",
        "settlement_code": "38488", **({"address": address} if address else {})})
    assert registered.status_code == 201, registered.text
    child = registered.json()["id"]
    raised = await client.post("/api/v1/alerts", headers=coordinator, json={
        "child_id": child, "type": "not_enrolled", "severity": "concern", "details": {"school_year": "2026/2027"}})
    assert raised.status_code == 201, raised.text
    return raised.json()["id"], child


async def test_team_members_see_the_address_of_their_case_and_others_do_not(client, world):
    """DESIGN §3: the address is for child protection, police on a whereabouts alert, and the
    members of a team working the child's case."""
    alert, child = await _team_case_of_provisional_child(client, world, address="ул. „Роза“ 7")
    coordinator = await world.headers(COORDINATOR)
    police = await world.headers("police-kazanlak.police")
    # the coordinator reads the child of its municipality, but is not yet working it on a team
    before = await client.get(f"/api/v1/children/{child}", headers=coordinator)
    assert before.status_code == 200 and before.json()["address"] is None
    assert (await client.get(f"/api/v1/children/{child}", headers=police)).status_code == 404
    assigned = await post_with_etag(client, coordinator, alert, "assign",
                                    {"team_id": await team_id(client, coordinator, "team-kazanlak")})
    assert assigned.status_code == 200, assigned.text
    for member in ("mun-kazanlak.municipal", "police-kazanlak.police", "school-koprinka.staff"):
        shown = await client.get(f"/api/v1/children/{child}", headers=await world.headers(member))
        assert (shown.status_code, shown.json()["address"]) == (200, "ул. „Роза“ 7"), member
    # a teacher of the municipality on no team of the case, and a member of another team
    for outsider in ("school-kazanlak.staff", "school-lukovit-1.staff"):
        assert (await client.get(f"/api/v1/children/{child}", headers=await world.headers(outsider))).status_code == 404


async def test_team_members_merge_the_provisional_child_of_their_case(client, world):
    alert, child = await _team_case_of_provisional_child(client, world)
    pupil = "1447237197"  # a demo pupil born in 2014 (school-gorno-cherkovishte)
    teacher = await world.headers("school-koprinka.staff")
    refused = await client.post(f"/api/v1/children/{child}/merge", json={"pin": pupil}, headers=teacher)
    assert refused.status_code == 403  # the teacher's role may not merge, and it is no team case yet
    coordinator = await world.headers(COORDINATOR)
    assigned = await post_with_etag(client, coordinator, alert, "assign",
                                    {"team_id": await team_id(client, coordinator, "team-kazanlak")})
    assert assigned.status_code == 200, assigned.text
    for outsider in ("school-kazanlak.staff", "school-lukovit-1.staff"):
        other = await client.post(f"/api/v1/children/{child}/merge", json={"pin": pupil},
                                  headers=await world.headers(outsider))
        assert other.status_code == 403, outsider
    merged = await client.post(f"/api/v1/children/{child}/merge", json={"pin": pupil}, headers=teacher)
    assert merged.status_code == 200, merged.text
    assert (merged.json()["merged_child_id"], merged.json()["alerts_moved"]) == (child, 1)
    moved = await client.get(f"/api/v1/alerts/{alert}", headers=teacher)
    assert moved.json()["child_id"] == merged.json()["id"]


async def test_team_members_register_provisional_children_in_the_teams_area_only(client, world):
    child = {"given_name": "Рая", "family_name": "Демирева", "birth_year": 2015, "sex": "female"}
    police = await world.headers("police-kazanlak.police")  # on team-kazanlak (SZR12)
    own = await client.post("/api/v1/children/provisional", json={**child, "settlement_code": "27499"},
                            headers=police)
    assert own.status_code == 201, own.text
    # Енина (27499) is in the team's area, Луковит (44327) is not
    outside = await client.post("/api/v1/children/provisional", json={**child, "settlement_code": "44327"},
                                headers=police)
    assert outside.status_code == 403
    # a teacher on no team may not register a child at all
    nobody = await client.post("/api/v1/children/provisional", json={**child, "settlement_code": "27499"},
                               headers=await world.headers("school-kazanlak.staff"))
    assert nobody.status_code == 403
