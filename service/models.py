"""Every table of the service, imported in one place so the metadata is complete for alembic."""

from service.audit.models import AuditEvent, AuditHead
from service.core.database import metadata
from service.organisations.models import Client, Organisation, OrganisationMunicipality, User

__all__ = ["AuditEvent", "AuditHead", "Client", "Organisation", "OrganisationMunicipality", "User", "metadata"]
