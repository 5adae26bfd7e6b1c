"""The audit trail: every SCIM operation, SSO event and management action, with its outcome."""

from propylon.audit.log import (
    Actor,
    AuditRecord,
    diff,
    internal_error,
    list_entries,
    record,
    record_failure,
    unexpected_status,
)

__all__ = [
    "Actor",
    "AuditRecord",
    "diff",
    "internal_error",
    "list_entries",
    "record",
    "record_failure",
    "unexpected_status",
]
