"""RFC 9457 problem details: the error class tree and the one set of handlers that renders it.

Every error a client sees is `application/problem+json`. Routes raise a `Problem` subclass; the
framework's own errors (validation, unknown route, wrong method) are translated here, and anything
unexpected becomes a bare 500 with the request id, never a stack trace or SQL text.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from service.core.headers import security_headers

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:obhvat:problem:"

log = structlog.get_logger("service.problems")


class Problem(Exception):
    """Base of every error the API answers deliberately."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal server error"
    #: the audit event (an `AuditRecord`) the problem handler writes before answering, if any
    audit_entry: object | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_PREFIX + self.slug,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extensions)
        return body


class BadRequest(Problem):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthenticated(Problem):
    status, slug, title = 401, "unauthenticated", "Authentication required"

    def __init__(self, detail: str = "missing or invalid credentials", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="obhvat"'})
        super().__init__(detail, **kw)


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(Problem):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(Problem):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(Problem):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(Problem):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class ValidationProblem(Problem):
    """422 with an `errors` list; each entry names a `pointer` (JSON body), `parameter`,
    `header`, or a CSV `row` and `field`."""

    status, slug, title = 422, "validation-error", "Request is not valid"


class PreconditionRequired(Problem):
    status, slug, title = 428, "precondition-required", "Precondition required"


class TooManyRequests(Problem):
    status, slug, title = 429, "too-many-requests", "Too many requests"


def field_error(pointer: str, detail: str) -> ValidationProblem:
    """One invalid body field, addressed by a JSON pointer such as `/roles/0`."""
    return ValidationProblem(detail, errors=[{"pointer": "#" + pointer, "detail": detail}])


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    instance = request.url.path if request is not None else None
    request_id = request.state.request_id if request is not None and hasattr(
        request.state, "request_id"
    ) else None
    body = problem.body(instance)
    if request_id:
        body["request_id"] = request_id
    return JSONResponse(
        body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. Starlette's own 405 names only the first
    route that matched the path, so `Allow` would miss GET when GET and POST are separate."""
    routes = request.app.router.routes
    return [
        method for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in routes
        )
    ]


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for err in exc.errors():
        location, *path = err.get("loc", ()) or ("body",)
        message = str(err.get("msg", "invalid value"))
        entry: dict[str, Any] = {"detail": message}
        if err.get("type") == "json_invalid":
            # the framework puts the character offset where a field name belongs
            reason = (err.get("ctx") or {}).get("error", "invalid")
            where = f" at character {path[0]}" if path else ""
            entry = {"pointer": "#/", "detail": f"the body is not valid JSON ({reason}{where})"}
        elif location == "body":
            entry["pointer"] = "#/" + "/".join(str(p) for p in path)
        elif location == "query":
            entry["parameter"] = str(path[0]) if path else ""
        elif location == "header":
            entry["header"] = str(path[0]) if path else ""
        elif location == "path":
            entry["parameter"] = str(path[0]) if path else ""
        else:
            entry["pointer"] = "#/" + "/".join(str(p) for p in (location, *path))
        errors.append(entry)
    return errors


def _body_error_detail(cause: BaseException | None) -> str | None:
    """Why the framework could not read a JSON body (it answers only "There was an error
    parsing the body", which leaves the client guessing)."""
    if isinstance(cause, UnicodeDecodeError):
        return f"the body is not UTF-8 text (byte {cause.start} cannot be decoded); send JSON as UTF-8"
    if isinstance(cause, RecursionError):
        return "the JSON body is nested too deeply to be read"
    if isinstance(cause, ValueError) and "integer string conversion" in str(cause):
        return "a number in the JSON body has too many digits"
    return None


_STATUS_PROBLEMS: dict[int, type[Problem]] = {
    400: BadRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationProblem,
    428: PreconditionRequired,
    429: TooManyRequests,
}


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)  # noqa: S101 - registered for Problem only
        return problem_response(exc, request)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)  # noqa: S101
        errors = _validation_errors(exc)
        detail = "; ".join(
            f"{e.get('pointer') or e.get('parameter') or e.get('header')}: {e['detail']}"
            for e in errors[:5]
        )
        return problem_response(ValidationProblem(detail, errors=errors), request)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)  # noqa: S101
        problem_class = _STATUS_PROBLEMS.get(exc.status_code)
        if problem_class is None:
            problem: Problem = Problem(str(exc.detail))
            problem.status = exc.status_code
        elif problem_class is Unauthenticated:
            problem = Unauthenticated()
        else:
            problem = problem_class(_body_error_detail(exc.__cause__) or (str(exc.detail) if exc.detail else None))
        problem.headers.update(exc.headers or {})
        if exc.status_code == 405 and (allowed := _allowed_methods(request)):
            problem.headers["Allow"] = ", ".join(allowed)
        return problem_response(problem, request)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", exc_type=type(exc).__name__)
        response = problem_response(Problem("an unexpected error occurred"), request)
        # This answer is sent from outside every middleware, which would otherwise add these.
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            response.headers["X-Request-ID"] = request_id
        settings = getattr(request.app.state, "settings", None)
        production = getattr(settings, "environment", None) == "production"
        for name, value in security_headers(request.url.path, public_paths=frozenset(), production=production):
            response.headers[name.decode()] = value.decode()
        return response

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def problem_responses(*problems: type[Problem]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the problems a route may answer."""
    return {
        p.status: {
            "description": p.title,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for p in problems
    }
