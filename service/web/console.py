"""Mounting the console on the app: its pages, its stylesheet, its error pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from service.web import (
    admin_pages,
    alert_pages,
    audit_pages,
    auth_pages,
    child_pages,
    consent_pages,
    emergency_pages,
    home,
    known_to_cp_pages,
    notice_pages,
    oidc_pages,
    referral_pages,
    report_pages,
    roster_pages,
    rules_pages,
    team_pages,
    upload_pages,
    worklist_pages,
)
from service.web.dependencies import SignInRequired
from service.web.errors import console_http_errors, sign_in_required
from service.web.oidc import OidcClient
from service.web.rendering import Renderer

STATIC_DIR = Path(__file__).parent / "static"


def install_console(app: FastAPI) -> None:
    app.state.console = Renderer()
    settings = app.state.settings
    external_keys = app.state.tokens.external
    app.state.console_oidc = (
        OidcClient(settings, external_keys) if settings.console_oidc_enabled and external_keys is not None else None
    )
    app.add_exception_handler(SignInRequired, sign_in_required)
    # after the API's handlers are installed: an oversized upload becomes a page
    app.add_exception_handler(HTTPException, console_http_errors(app.exception_handlers[HTTPException]))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        # /children/known-to-cp before child_pages' /children/{child_id}
        auth_pages, oidc_pages, home, known_to_cp_pages, child_pages, consent_pages, emergency_pages, alert_pages,
        referral_pages, audit_pages, upload_pages, roster_pages, worklist_pages, report_pages, admin_pages, rules_pages,
        team_pages, notice_pages,
    ):
        app.include_router(module.router)
