"""Shared steps of the console tests: signing in through the form, reading a page's CSRF token and
an upload page's row errors."""

from __future__ import annotations

import re

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
