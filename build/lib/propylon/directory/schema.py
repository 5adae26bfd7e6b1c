"""Attribute definitions: the single source of truth for names, types and characteristics.

Everything is derived from the scim2-models resource classes (``User``, ``EnterpriseUser``,
``Group``) and their ``to_schema()`` output, which follows RFC 7643 §7 and the schema
representations of RFC 7643 §8.7. The common attributes ``id``, ``externalId`` and ``meta``
(RFC 7643 §3.1) are not part of any schema document but can be filtered, sorted and projected,
so :func:`lookup` knows them too.

The registry is built once at import into read-only mappings; nothing here is mutable.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from scim2_models import EnterpriseUser, Group, User

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

ResourceType = Literal["User", "Group"]


@dataclass(frozen=True)
class AttrDef:
    """One attribute (or sub-attribute) definition, RFC 7643 §7 "attributes"."""

    name: str
    type: str
    multi_valued: bool
    case_exact: bool
    mutability: str
    returned: str
    uniqueness: str
    schema: str
    required: bool = False
    sub_attributes: Mapping[str, AttrDef] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_complex(self) -> bool:
        return self.type == "complex"

    def sub(self, name: str) -> AttrDef | None:
        """The sub-attribute called ``name`` (case-insensitive, RFC 7643 §2.1)."""
        return self.sub_attributes.get(name.lower())


def _attr_from_json(raw: Mapping[str, Any], schema: str) -> AttrDef:
    subs = {s["name"].lower(): _attr_from_json(s, schema) for s in raw.get("subAttributes") or ()}
    return AttrDef(
        name=raw["name"],
        type=raw["type"],
        multi_valued=bool(raw.get("multiValued", False)),
        case_exact=bool(raw.get("caseExact", False)),
        mutability=raw.get("mutability", "readWrite"),
        returned=raw.get("returned", "default"),
        uniqueness=raw.get("uniqueness", "none"),
        schema=schema,
        required=bool(raw.get("required", False)),
        sub_attributes=MappingProxyType(subs),
    )


def _schema_json(model: type[User[Any]] | type[Group] | type[EnterpriseUser]) -> dict[str, Any]:
    doc: dict[str, Any] = model.to_schema().model_dump(mode="json", exclude_none=True)
    if doc["id"] == ENTERPRISE_USER_SCHEMA:
        # RFC 7643 §8.7.2 declares manager.value and manager.$ref "required": false;
        # scim2-models marks them required, which would reject Entra's bare manager ids.
        for attr in doc["attributes"]:
            if attr["name"] == "manager":
                for sub in attr.get("subAttributes", []):
                    sub["required"] = False
    if doc["id"] == GROUP_SCHEMA:
        # members.display is the member's current displayName, computed by the server (RFC
        # 7643 §8.7.1 defines no members.display); scim2-models declares it readWrite.
        for attr in doc["attributes"]:
            if attr["name"] == "members":
                for sub in attr.get("subAttributes", []):
                    if sub["name"] == "display":
                        sub["mutability"] = "readOnly"
    return doc


def _common(schema: str) -> dict[str, AttrDef]:
    """``id``, ``externalId`` and ``meta`` of RFC 7643 §3.1, owned by the core schema."""

    def simple(name: str, type_: str, *, case_exact: bool, mut: str, ret: str) -> AttrDef:
        return AttrDef(name, type_, False, case_exact, mut, ret, "none", schema)

    meta_subs = {
        "resourcetype": simple(
            "resourceType", "string", case_exact=True, mut="readOnly", ret="default"
        ),
        "created": simple("created", "dateTime", case_exact=False, mut="readOnly", ret="default"),
        "lastmodified": simple(
            "lastModified", "dateTime", case_exact=False, mut="readOnly", ret="default"
        ),
        "location": simple("location", "reference", case_exact=True, mut="readOnly", ret="default"),
        "version": simple("version", "string", case_exact=True, mut="readOnly", ret="default"),
    }
    return {
        "id": AttrDef("id", "string", False, True, "readOnly", "always", "server", schema),
        "externalid": simple(
            "externalId", "string", case_exact=True, mut="readWrite", ret="default"
        ),
        "meta": AttrDef(
            "meta",
            "complex",
            False,
            False,
            "readOnly",
            "default",
            "none",
            schema,
            sub_attributes=MappingProxyType(meta_subs),
        ),
    }


def _attrs(doc: Mapping[str, Any]) -> Mapping[str, AttrDef]:
    urn = doc["id"]
    return MappingProxyType({a["name"].lower(): _attr_from_json(a, urn) for a in doc["attributes"]})


_USER_DOC = _schema_json(User)
_ENTERPRISE_DOC = _schema_json(EnterpriseUser)
_GROUP_DOC = _schema_json(Group)

_CORE: Mapping[str, Mapping[str, AttrDef]] = MappingProxyType(
    {
        "User": MappingProxyType({**_common(USER_SCHEMA), **_attrs(_USER_DOC)}),
        "Group": MappingProxyType({**_common(GROUP_SCHEMA), **_attrs(_GROUP_DOC)}),
    }
)
_CORE_URN: Mapping[str, str] = MappingProxyType({"User": USER_SCHEMA, "Group": GROUP_SCHEMA})
_EXTENSIONS: Mapping[str, Mapping[str, Mapping[str, AttrDef]]] = MappingProxyType(
    {
        "User": MappingProxyType({ENTERPRISE_USER_SCHEMA.lower(): _attrs(_ENTERPRISE_DOC)}),
        "Group": MappingProxyType({}),
    }
)
_EXTENSION_URNS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"User": (ENTERPRISE_USER_SCHEMA,), "Group": ()}
)


def core_schema(resource_type: ResourceType) -> str:
    """The core schema URN of a resource type (RFC 7643 §4.1, §4.2)."""
    return _CORE_URN[resource_type]


def extension_schemas(resource_type: ResourceType) -> tuple[str, ...]:
    """The extension schema URNs that apply to a resource type (RFC 7643 §3.3)."""
    return _EXTENSION_URNS[resource_type]


def canonical_schema(resource_type: ResourceType, urn: str) -> str | None:
    """The canonical spelling of a known schema URN, or None (URNs compare case-insensitively)."""
    low = urn.lower()
    for known in (_CORE_URN[resource_type], *_EXTENSION_URNS[resource_type]):
        if known.lower() == low:
            return known
    return None


def attributes(resource_type: ResourceType, schema_urn: str | None = None) -> list[AttrDef]:
    """Top-level attributes of one schema (the core one by default), common attributes included
    for the core schema."""
    if schema_urn is None or schema_urn.lower() == _CORE_URN[resource_type].lower():
        return list(_CORE[resource_type].values())
    ext = _EXTENSIONS[resource_type].get(schema_urn.lower())
    return list(ext.values()) if ext is not None else []


def lookup(
    resource_type: ResourceType, schema_urn: str | None, name: str, sub: str | None = None
) -> AttrDef | None:
    """Find an attribute definition, case-insensitively (RFC 7643 §2.1).

    Without a URN the core schema (and the common attributes) is searched first, then the
    extensions of the resource type, as RFC 7644 §3.10 lets unqualified names resolve.
    With ``sub``, the sub-attribute definition is returned (None if the parent is not complex).
    """
    key = name.lower()
    found: AttrDef | None = None
    if schema_urn is None:
        found = _CORE[resource_type].get(key)
        if found is None:
            for ext in _EXTENSIONS[resource_type].values():
                if (found := ext.get(key)) is not None:
                    break
    elif schema_urn.lower() == _CORE_URN[resource_type].lower():
        found = _CORE[resource_type].get(key)
    else:
        ext_attrs = _EXTENSIONS[resource_type].get(schema_urn.lower())
        found = ext_attrs.get(key) if ext_attrs is not None else None
    if found is None or sub is None:
        return found
    return found.sub(sub)


def schema_documents() -> list[dict[str, Any]]:
    """The resources of ``GET /Schemas`` (RFC 7644 §4, RFC 7643 §7), a fresh copy per call.

    Each carries ``meta.resourceType = "Schema"``; the caller fills ``meta.location``.
    """
    docs = [copy.deepcopy(d) for d in (_USER_DOC, _ENTERPRISE_DOC, _GROUP_DOC)]
    for doc in docs:
        doc["meta"] = {"resourceType": "Schema"}
    return docs
