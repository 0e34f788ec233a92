"""Deployment artefacts, checked statically (no container engine runs here): every Kubernetes
manifest validates against the Kubernetes schemas offline, and the image, compose file and SQL
keep the promises deploy/README.md makes."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from service.audit.ddl import app_role_grants

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))
KUBERNETES_VERSION = "1.29.0"


def _documents() -> list[tuple[str, dict]]:
    found = []
    for path in MANIFESTS:
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                found.append((f"{path.name}:{document['kind']}/{document['metadata']['name']}", document))
    return found


DOCUMENTS = _documents()


def test_the_expected_kinds_are_all_there():
    kinds = {document["kind"] for _, document in DOCUMENTS}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "Job", "NetworkPolicy", "ConfigMap", "Secret"} <= kinds


@pytest.mark.parametrize("name,document", DOCUMENTS, ids=[name for name, _ in DOCUMENTS])
def test_manifest_validates_against_the_kubernetes_schema(name, document):
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def _pod_specs():
    for name, document in DOCUMENTS:
        if document["kind"] in ("Deployment", "Job"):
            yield name, document["spec"]["template"]["spec"]


@pytest.mark.parametrize("name,spec", list(_pod_specs()), ids=[n for n, _ in _pod_specs()])
def test_pods_run_as_non_root_read_only_with_no_capabilities(name, spec):
    assert spec["securityContext"]["runAsNonRoot"] is True
    for container in spec["containers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["requests"] and container["resources"]["limits"]


def test_the_api_is_probed_on_readyz_and_healthz():
    api = next(d for n, d in DOCUMENTS if d["kind"] == "Deployment" and d["metadata"]["name"] == "obhvat-api")
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_secrets_are_referenced_not_committed():
    for name, document in DOCUMENTS:
        if document["kind"] == "Secret":
            assert name.startswith("secrets.example.yaml")
            assert all("replace" in value for value in document["stringData"].values())


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck_and_no_build_tools():
    text = (DEPLOY / "Dockerfile").read_text()
    final = text.split("\nFROM ")[-1]
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2
    assert "USER 10001" in final and "HEALTHCHECK" in final
    assert not any(tool in final for tool in ("gcc", "build-essential", "apt-get install"))
    assert 'ENTRYPOINT ["obhvat"]' in final
    assert "COPY migrations" in final  # db upgrade runs from the image


def test_compose_runs_db_migrate_api_and_worker_with_secrets_from_files():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert {"db", "migrate", "api", "worker"} <= set(compose["services"])
    assert all("file" in secret for secret in compose["secrets"].values())
    assert compose["services"]["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "OBHVAT_PIN_SECRET" not in str(compose)  # read from a secret file, never inline


def test_app_role_sql_is_exactly_what_grant_app_role_runs():
    statements = [
        line.rstrip(";")
        for line in (DEPLOY / "sql" / "app-role.sql").read_text().splitlines()
        if line and not line.startswith("--")
    ]
    assert statements == app_role_grants("obhvat_app")
