-- The API's PostgreSQL role: uses every table, but may only read and append the audit trail.
-- Run as the schema owner after `obhvat db upgrade` (the same as `obhvat db grant-app-role obhvat_app`).
-- CREATE ROLE obhvat_app LOGIN PASSWORD '...';   -- once, by a DBA
GRANT USAGE ON SCHEMA public TO "obhvat_app";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "obhvat_app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "obhvat_app";
REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM "obhvat_app";
REVOKE TRUNCATE ON ALL TABLES IN SCHEMA public FROM "obhvat_app";
