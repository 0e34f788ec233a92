"""Validation messages from the domain (pydantic's, the domain validators', a problem's `errors`)
are shown on console forms in Bulgarian, with the values they name; in English when chosen."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from service.alerts.details import DETAILS_MODELS, AlertType
from service.alerts.schemas import ActionCreate, AlertClose
from service.consent.schemas import ConsentCreate
from tests.alerts.helpers import KOPRINKA_PUPIL_PINS
from tests.conftest import World
from tests.web.helpers import csrf_of, sign_in


def _messages(model: Any, data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(data)
    return [str(error["msg"]) for error in raised.value.errors()]


def _t(app: Any, language: str) -> Any:
    return app.state.console.environments[language].filters["t"]


def test_pydantic_messages_of_the_alert_details_are_translated_with_their_values(app: Any) -> None:
    t = _t(app, "bg")
    details = DETAILS_MODELS[AlertType.unexcused_absences]
    too_many, wrong_month = (
        _messages(details, {"month": "2026-10", "unexcused_hours": 999})[0],
        _messages(details, {"month": "октомври", "unexcused_hours": 12})[0],
    )
    assert too_many == "Input should be less than or equal to 300"
    assert t(too_many) == "Въведете число не по-голямо от 300"
    assert t(wrong_month) == "Попълнете във вида, показан в името на полето"
    assert t(_messages(details, {"month": "2026-10", "unexcused_hours": -1})[0]) == "Въведете число не по-малко от 0"
    assert t(_messages(details, {"unexcused_hours": 12})[0]) == "Попълнете това поле"
    assert t(_messages(details, {"month": "2026-10", "unexcused_hours": "много"})[0]) == "Въведете цяло число"
    assert t(_messages(ActionCreate, {"kind": "meeting", "text": "x" * 5000})[0]).startswith("Напишете най-много ")
    assert t(_messages(ActionCreate, {"kind": "nap"})[0]) == "Изберете една от възможностите"


def test_messages_of_the_domains_validators_are_translated(app: Any) -> None:
    t = _t(app, "bg")
    assert t(_messages(ActionCreate, {"kind": "field_visit"})[0]) == "За посещение на място посочете резултата"
    assert t(_messages(ActionCreate, {"kind": "referral"})[0]) == "При насочване посочете доставчика на услугата"
    assert t(_messages(AlertClose, {"outcome": "other"})[0]) == "За изход „Друго“ напишете причината"
    consent = {"guardian_name": "Мария", "guardian_relationship": "mother", "purposes": ["support_services"],
               "recipient_ids": [str(uuid.uuid4())], "valid_from": "2026-10-10", "valid_until": "2026-10-01",
               "evidence": "вх. № 1"}
    assert "Крайната дата е преди началната" in [t(m) for m in _messages(ConsentCreate, consent)]


def test_english_keeps_plain_sentences_and_an_unknown_message_is_shown_as_it_came(app: Any) -> None:
    assert _t(app, "en")("Input should be less than or equal to 300") == "Enter a number of at most 300"
    assert _t(app, "en")("Value error, a field visit needs a result") == "a field visit needs a result"
    assert _t(app, "bg")("something the service never said") == "something the service never said"


async def test_the_alert_form_shows_the_domains_messages_in_bulgarian(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, "school-koprinka.staff")
    form = await client.get("/children/search")
    found = await client.post("/children/search", data={"pin": KOPRINKA_PUPIL_PINS[0], "csrf_token": csrf_of(form)})
    child_id = found.headers["location"].rsplit("/", 1)[-1]
    form = await client.get("/alerts/new", params={"child": child_id, "type": "unexcused_absences"})
    answer = await client.post(
        "/alerts/new",
        data={"csrf_token": csrf_of(form), "child": child_id, "type": "unexcused_absences", "severity": "concern",
              "details.month": "2026-13", "details.unexcused_hours": "999"},
    )
    assert answer.status_code == 422, answer.text
    assert "Въведете число не по-голямо от 300" in answer.text
    assert "Попълнете във вида, показан в името на полето" in answer.text
    assert "Input should" not in answer.text and "String should" not in answer.text
