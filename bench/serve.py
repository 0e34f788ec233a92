"""Run the real app for a benchmark. `--no-audit` replaces audit appends with nothing, to
measure what linking the chain costs; it exists only here, never in the service's settings."""

from __future__ import annotations

import argparse

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-audit", action="store_true")
    parser.add_argument("--bare-insert", action="store_true", help="serve only the stack-limit endpoint")
    args = parser.parse_args()
    if args.no_audit:
        import service.audit.service as audit

        async def no_audit(session, entries):  # type: ignore[no-untyped-def]
            return [0 for _ in entries]

        audit.record_many = no_audit  # type: ignore[assignment]
    if args.bare_insert:
        from bench.bare import create_bare_app

        app = create_bare_app()
    else:
        from service.app import create_app_from_env

        app = create_app_from_env()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
