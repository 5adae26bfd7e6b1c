"""SCIM errors, one class per ``scimType`` of RFC 7644 §3.12 Table 9.

Each carries its HTTP status and ``scimType``; :meth:`ScimError.to_wire` renders the
``urn:ietf:params:scim:api:messages:2.0:Error`` body once, for every handler.
"""

from __future__ import annotations

from typing import Any, ClassVar

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    status: ClassVar[int] = 400
    scim_type: ClassVar[str | None] = None

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemas": [ERROR_SCHEMA],
            "status": str(self.status),
            "detail": self.detail,
        }
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


class InvalidFilter(ScimError):
    """The specified filter syntax was invalid or the attribute and comparison are not
    supported (RFC 7644 §3.4.2.2)."""

    scim_type = "invalidFilter"


class TooMany(ScimError):
    scim_type = "tooMany"


class Uniqueness(ScimError):
    """One or more unique attribute values are in use (RFC 7644 §3.3, 409)."""

    status = 409
    scim_type = "uniqueness"


class Mutability(ScimError):
    """The attempted modification is not compatible with the attribute's mutability."""

    scim_type = "mutability"


class InvalidSyntax(ScimError):
    """The request body structure was invalid or did not conform to the schema."""

    scim_type = "invalidSyntax"


class InvalidPath(ScimError):
    """The "path" attribute was invalid or malformed (RFC 7644 §3.5.2)."""

    scim_type = "invalidPath"


class NoTarget(ScimError):
    """The specified "path" did not yield an attribute that could be operated on."""

    scim_type = "noTarget"


class InvalidValue(ScimError):
    """A required value was missing, or the value specified was not compatible."""

    scim_type = "invalidValue"


class InvalidVersion(ScimError):
    scim_type = "invalidVers"


class Unauthorized(ScimError):
    status = 401


class Forbidden(ScimError):
    status = 403


class NotFound(ScimError):
    status = 404


class Conflict(ScimError):
    status = 409


class PreconditionFailed(ScimError):
    """``If-Match`` did not match the current ETag (RFC 7644 §3.14)."""

    status = 412


class PayloadTooLarge(ScimError):
    status = 413


class TooManyRequests(ScimError):
    status = 429


class NotImplementedOp(ScimError):
    status = 501
