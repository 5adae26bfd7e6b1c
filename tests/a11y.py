"""Accessibility checks in the browser: axe-core (``tests/interop/axe``, installed by
``scripts/test``) run in the Chromium page under test against WCAG 2.0/2.1/2.2 A and AA.

``await axe_violations(page)`` gives the violations of impact ``serious`` or ``critical``
(empty when the page passes); tests assert it is empty and print what was found otherwise.
The script is evaluated through the DevTools protocol, so the page's own Content Security
Policy (scripts only from Propylon's ``/assets/``) is not loosened for it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).parent / "interop" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SERIOUS = {"serious", "critical"}

needs_axe = pytest.mark.skipif(not AXE.exists(), reason="needs axe-core (scripts/test)")


async def axe_violations(page: Any, *, include_moderate: bool = False) -> list[dict[str, Any]]:
    """The page's WCAG A/AA violations of impact serious or critical (or any impact with
    ``include_moderate``), each as ``{"id", "impact", "help", "nodes": [html, ...]}``."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())
    options = json.dumps({"runOnly": {"type": "tag", "values": TAGS}})
    result = await page.evaluate(f"window.axe.run(document, {options})")
    return [
        {
            "id": v["id"],
            "impact": v.get("impact"),
            "help": v.get("help"),
            "nodes": [n.get("html", "")[:200] for n in v.get("nodes", [])][:5],
        }
        for v in result["violations"]
        if include_moderate or v.get("impact") in SERIOUS
    ]


async def assert_accessible(page: Any, what: str) -> None:
    """Fail naming the page and every serious violation axe-core found on it."""
    found = await axe_violations(page)
    assert found == [], f"{what}: {json.dumps(found, indent=1)}"
