"""The test IdP's page: who signs in and how it should go, read from its form.

Bounded like every form Propylon reads: an address of at most 320 characters with one ``@``,
names of at most 255, at most 50 groups (one per line or comma-separated)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from propylon.testidp.saml_response import Person
from propylon.testidp.scenarios import Scenario, parse_scenario

__all__ = ["Choice", "read_choice"]

MAX_EMAIL: Final = 320
MAX_NAME: Final = 255
MAX_GROUPS: Final = 50


@dataclass(frozen=True)
class Choice:
    """What the person chose; ``errors`` (field id, message) when the form is not usable."""

    person: Person
    scenario: Scenario
    errors: list[tuple[str, str]] = field(default_factory=list)


def _text(form: Mapping[str, str], name: str) -> str:
    return " ".join(form.get(name, "").split())


def read_choice(form: Mapping[str, str], protocol: str) -> Choice:
    errors: list[tuple[str, str]] = []
    email = form.get("email", "").strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or len(email) > MAX_EMAIL or " " in email:
        errors.append(("email", "Enter an email address, like ada@example.com"))
    names = {n: _text(form, n) for n in ("first_name", "last_name", "department")}
    for name, value in names.items():
        if len(value) > MAX_NAME:
            errors.append((name, f"{name.replace('_', ' ').capitalize()} is too long"))
    raw_groups = form.get("groups", "").replace(",", "\n").splitlines()
    groups = tuple(dict.fromkeys(g.strip() for g in raw_groups if g.strip()))
    if len(groups) > MAX_GROUPS or any(len(g) > MAX_NAME for g in groups):
        errors.append(("groups", f"At most {MAX_GROUPS} groups of at most {MAX_NAME} characters"))
    scenario = parse_scenario(form.get("scenario"), protocol)
    if scenario is None:
        errors.append(("scenario-success", "Choose a scenario"))
    person = Person(email, names["first_name"], names["last_name"], names["department"], groups)
    return Choice(person, scenario or Scenario.SUCCESS, errors)
