"""Shared steps of the console tests: signing in through the form, reading a page's CSRF token,
what a form would send as it stands, and an upload page's row errors."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx

from tests.conftest import DEMO_PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> httpx.Response:
    """Signs in through /login; returns the start page."""
    form = await client.get("/login")
    answer = await client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf_of(form), "next": "/"}
    )
    assert answer.status_code == 303, answer.text
    start = await client.get("/")
    assert start.status_code == 200, start.text
    return start


def error_rows(page: httpx.Response) -> list[list[str]]:
    """The cells of an upload page's row-error table, row by row."""
    table = page.text.split('id="row-errors"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


class _FormReader(HTMLParser):
    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.select: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = named.get("action") == self.action
        elif not self.inside or "name" not in named and tag != "option":
            return
        elif tag == "input" and named.get("type") in ("checkbox", "radio"):
            if "checked" in named:
                self.fields[named["name"]] = named.get("value", "on")
        elif tag == "input":
            self.fields[named["name"]] = named.get("value", "")
        elif tag == "select":
            self.select = named["name"]
        elif tag == "option" and self.select and "selected" in named:
            self.fields[self.select] = named.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None


def form_fields(page: httpx.Response, action: str) -> dict[str, str]:
    """What the page's form posting to `action` sends if the person changes nothing (the
    first option of a select with none chosen is left out: the forms here always mark one)."""
    reader = _FormReader(action)
    reader.feed(page.text)
    assert reader.fields, f"no form posting to {action} on the page"
    return reader.fields
