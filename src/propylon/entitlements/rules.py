"""Per-tenant entitlement rules: the document, its validation and its evaluation (pure).

A rule set is JSON data::

    {"defaults": {"roles": [...], "tier": "basic" | null, "programs": [...]},
     "rules": [{"name": "clinicians", "priority": 10,
                "when": {"all_groups": [...], "any_groups": [...], "none_groups": [...],
                         "attributes": [{"attr": "department", "op": "eq", "value": "Clinical"}]},
                "grant": {"roles": [...], "tier": "pro" | null, "programs": [...]}}]}

A rule matches when every condition holds: every group of ``all_groups``, at least one of
``any_groups`` (when given), none of ``none_groups``, and every attribute comparison. Group
names compare case-insensitively (SCIM ``displayName`` is not case-exact, RFC 7643 §4.2).
Comparisons follow the SCIM filter operators (RFC 7644 §3.4.2.2): ``eq``, ``ne``, ``co``,
``sw`` (strings compared case-insensitively), ``pr`` (present: not null, not empty) and
``in`` (equal to one of a list). Roles and programs of the matching rules and the defaults add
up; the tier is that of the highest-priority matching rule that names one (equal priorities:
the earlier rule), else the default tier.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from propylon.entitlements.attributes import resolve
from propylon.entitlements.model import Grant
from propylon.errors import InvalidInput

OPERATORS = ("eq", "ne", "co", "sw", "pr", "in")
MAX_RULES = 500
MAX_NAMES = 200
MAX_TEXT = 255


@dataclass(frozen=True)
class Comparison:
    attr: str
    op: str
    value: Any = None

    def holds(self, doc: Mapping[str, Any]) -> bool:
        found = resolve(doc, self.attr)
        if self.op == "pr":
            return found not in (None, "", [], {})
        if self.op == "ne":
            return not any(_equal(v, self.value) for v in _values(found))
        values = _values(found)
        if self.op == "eq":
            return any(_equal(v, self.value) for v in values)
        if self.op == "in":
            return any(_equal(v, want) for v in values for want in self.value)
        needle = str(self.value).casefold()
        if self.op == "co":
            return any(isinstance(v, str) and needle in v.casefold() for v in values)
        return any(isinstance(v, str) and v.casefold().startswith(needle) for v in values)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"attr": self.attr, "op": self.op}
        if self.op != "pr":
            out["value"] = list(self.value) if self.op == "in" else self.value
        return out


def _values(found: Any) -> list[Any]:
    return list(found) if isinstance(found, list) else [found]


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


@dataclass(frozen=True)
class Rule:
    name: str
    priority: int
    all_groups: frozenset[str]
    any_groups: frozenset[str]
    none_groups: frozenset[str]
    attributes: tuple[Comparison, ...]
    grant: Grant

    def matches(self, groups: frozenset[str], doc: Mapping[str, Any]) -> bool:
        return (
            self.all_groups <= groups
            and (not self.any_groups or bool(self.any_groups & groups))
            and not (self.none_groups & groups)
            and all(c.holds(doc) for c in self.attributes)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "priority": self.priority,
            "when": {
                "all_groups": sorted(self.all_groups),
                "any_groups": sorted(self.any_groups),
                "none_groups": sorted(self.none_groups),
                "attributes": [c.as_dict() for c in self.attributes],
            },
            "grant": _grant_dict(self.grant),
        }

    @property
    def group_names(self) -> frozenset[str]:
        return self.all_groups | self.any_groups | self.none_groups


@dataclass(frozen=True)
class RuleSet:
    defaults: Grant
    rules: tuple[Rule, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"defaults": _grant_dict(self.defaults), "rules": [r.as_dict() for r in self.rules]}

    def evaluate(self, groups: Iterable[str], doc: Mapping[str, Any]) -> Grant:
        """What the rules grant a user with these group names and this SCIM document."""
        names = frozenset(g.casefold() for g in groups)
        roles, programs = set(self.defaults.roles), set(self.defaults.programs)
        tier, tier_priority = self.defaults.tier, None
        for rule in self.rules:
            if not rule.matches(names, doc):
                continue
            roles |= rule.grant.roles
            programs |= rule.grant.programs
            if rule.grant.tier is not None and (
                tier_priority is None or rule.priority > tier_priority
            ):
                tier, tier_priority = rule.grant.tier, rule.priority
        return Grant.of(roles, tier, programs)

    def names(self) -> dict[str, set[str]]:
        """Every catalogue name the set grants, by kind."""
        out: dict[str, set[str]] = {"role": set(), "tier": set(), "program": set()}
        for g in (self.defaults, *(r.grant for r in self.rules)):
            out["role"] |= g.roles
            out["program"] |= g.programs
            if g.tier is not None:
                out["tier"].add(g.tier)
        return out


EMPTY_SET = RuleSet(Grant(), ())


def _grant_dict(g: Grant) -> dict[str, Any]:
    return {"roles": sorted(g.roles), "tier": g.tier, "programs": sorted(g.programs)}


def parse(doc: Any, catalog: Mapping[str, set[str]] | None = None) -> RuleSet:
    """Validate a rule-set document; with ``catalog`` (names by kind), every role, tier and
    program granted must be declared there. Raises :class:`InvalidInput` naming the fault."""
    if not isinstance(doc, dict):
        raise InvalidInput("a rule set is a JSON object")
    _only(doc, {"defaults", "rules"}, "rule set")
    defaults = _grant(doc.get("defaults") or {}, "defaults")
    raw = doc.get("rules") or []
    if not isinstance(raw, list) or len(raw) > MAX_RULES:
        raise InvalidInput(f"rules must be a list of at most {MAX_RULES}")
    rules = tuple(_rule(r, i) for i, r in enumerate(raw))
    seen: set[str] = set()
    for r in rules:
        if r.name in seen:
            raise InvalidInput(f"two rules are named {r.name!r}")
        seen.add(r.name)
    parsed = RuleSet(defaults, rules)
    if catalog is not None:
        for kind, names in parsed.names().items():
            unknown = sorted(names - catalog.get(kind, set()))
            if unknown:
                raise InvalidInput(f"{kind} not in the platform catalogue: {', '.join(unknown)}")
    return parsed


def _only(obj: Mapping[str, Any], keys: set[str], where: str) -> None:
    extra = sorted(set(obj) - keys)
    if extra:
        raise InvalidInput(f"{where}: unknown field(s) {', '.join(extra)}")


def _text(v: Any, where: str) -> str:
    if not isinstance(v, str) or not v.strip() or len(v) > MAX_TEXT or "\x00" in v:
        raise InvalidInput(f"{where} must be a non-empty string of at most {MAX_TEXT} characters")
    return v.strip()


def _names(v: Any, where: str, *, fold: bool = False) -> frozenset[str]:
    if v is None:
        return frozenset()
    if not isinstance(v, list) or len(v) > MAX_NAMES:
        raise InvalidInput(f"{where} must be a list of at most {MAX_NAMES} names")
    return frozenset(_text(x, where).casefold() if fold else _text(x, where) for x in v)


def _grant(v: Any, where: str) -> Grant:
    if not isinstance(v, dict):
        raise InvalidInput(f"{where} must be an object")
    _only(v, {"roles", "tier", "programs"}, where)
    tier = v.get("tier")
    return Grant(
        _names(v.get("roles"), f"{where}.roles"),
        None if tier is None else _text(tier, f"{where}.tier"),
        _names(v.get("programs"), f"{where}.programs"),
    )


def _rule(v: Any, i: int) -> Rule:
    where = f"rules[{i}]"
    if not isinstance(v, dict):
        raise InvalidInput(f"{where} must be an object")
    _only(v, {"name", "priority", "when", "grant"}, where)
    priority = v.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int) or abs(priority) > 10**6:
        raise InvalidInput(f"{where}.priority must be an integer")
    when = v.get("when") or {}
    if not isinstance(when, dict):
        raise InvalidInput(f"{where}.when must be an object")
    _only(when, {"all_groups", "any_groups", "none_groups", "attributes"}, f"{where}.when")
    attrs = when.get("attributes") or []
    if not isinstance(attrs, list) or len(attrs) > MAX_NAMES:
        raise InvalidInput(f"{where}.when.attributes must be a list")
    rule = Rule(
        name=_text(v.get("name"), f"{where}.name"),
        priority=priority,
        all_groups=_names(when.get("all_groups"), f"{where}.when.all_groups", fold=True),
        any_groups=_names(when.get("any_groups"), f"{where}.when.any_groups", fold=True),
        none_groups=_names(when.get("none_groups"), f"{where}.when.none_groups", fold=True),
        attributes=tuple(
            _comparison(c, f"{where}.when.attributes[{j}]") for j, c in enumerate(attrs)
        ),
        grant=_grant(v.get("grant") or {}, f"{where}.grant"),
    )
    return rule


def _comparison(v: Any, where: str) -> Comparison:
    if not isinstance(v, dict):
        raise InvalidInput(f"{where} must be an object")
    _only(v, {"attr", "op", "value"}, where)
    attr = _text(v.get("attr"), f"{where}.attr")
    op = v.get("op")
    if op not in OPERATORS:
        raise InvalidInput(f"{where}.op must be one of {', '.join(OPERATORS)}")
    value = v.get("value")
    if op == "pr":
        return Comparison(attr, op)
    if op == "in":
        if not isinstance(value, list) or not value or len(value) > MAX_NAMES:
            raise InvalidInput(f"{where}.value must be a non-empty list for 'in'")
        if not all(_scalar(x) for x in value):
            raise InvalidInput(f"{where}.value must hold strings, numbers or booleans")
        return Comparison(attr, op, tuple(value))
    if not _scalar(value) or (op in ("co", "sw") and not isinstance(value, str)):
        raise InvalidInput(f"{where}.value must be a string, number or boolean")
    return Comparison(attr, op, value)


def _scalar(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool)) and not (isinstance(v, str) and len(v) > 1000)
