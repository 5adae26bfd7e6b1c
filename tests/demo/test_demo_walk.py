"""From a fresh clone to the signed-in page: ``propylon demo`` in an empty data directory (a
process of its own, as the README's first command starts it), then Chromium at ``/demo``:
sign in by SSO through the test IdP's picker, see the ID token and the roles, change a group
with the page's IdP control and see the roles change without signing in again. Every page is
checked with axe-core; screenshots go to ``$PROPYLON_SCREENSHOTS`` (else
``test-artifacts/screenshots/``)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.a11y import assert_accessible, needs_axe
from tests.browser import chromium, needs_chromium  # noqa: F401
from tests.conftest import stop_server
from tests.demo.serving import serve

ROOT = Path(__file__).resolve().parent.parent.parent
SHOTS = Path(os.environ.get("PROPYLON_SCREENSHOTS") or ROOT / "test-artifacts" / "screenshots")

pytestmark = [needs_chromium, needs_axe]


def demo_env(data_dir: Path) -> dict[str, str]:
    """The environment of a newcomer's shell: no PROPYLON_* setting at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROPYLON_")}
    path = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    return {**env, "PYTHONPATH": path, "PROPYLON_DATA_DIR": str(data_dir)}


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``propylon demo --port N`` in a fresh data directory: (base URL, what it printed)."""
    base, proc = serve(["demo"], demo_env(tmp_path / "data"), public_url=False)
    try:
        yield base, _printed(proc)
    finally:
        stop_server(proc)


def _printed(proc: subprocess.Popen[bytes]) -> str:
    """What ``propylon demo`` printed before serving (up to its "Propylon on" line)."""
    assert proc.stderr is not None
    lines: list[str] = []
    while not any(line.startswith("Propylon on ") for line in lines):
        line = proc.stderr.readline().decode()
        if not line:
            break
        lines.append(line)
    return "".join(lines)


async def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"demo-{name}.png"), full_page=True)


async def _checked(page: Any, name: str) -> None:
    await assert_accessible(page, name)
    await _shot(page, name)


async def test_fresh_clone_to_the_signed_in_page(
    demo: tuple[str, str],
    chromium: Any,  # noqa: F811
) -> None:
    expect = pytest.importorskip("playwright.async_api").expect
    base, printed = demo
    assert f"Open {base}/demo" in printed
    context = await chromium.new_context()
    page = await context.new_page()
    await page.goto(f"{base}/")
    assert await page.locator(f'a[href="{base}/demo"]').count() == 1  # home says where to go
    await page.goto(f"{base}/demo")
    await _checked(page, "welcome")

    await page.get_by_role("link", name="Sign in with SSO").click()
    await page.wait_for_url("**/test-idp/saml/sso**")
    assert "grace@demo.example" in await page.content()  # the tenant's people suggested
    await _checked(page, "test-idp-picker")
    await page.fill("#email", "grace@demo.example")
    await page.check("#scenario-success")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/test-idp/saml/answer")
    await _checked(page, "test-idp-answer")
    await page.get_by_role("button", name="Continue to Propylon").click()

    await page.wait_for_url(f"{base}/demo")
    claims = page.get_by_role("table", name="Claims")
    assert "grace@demo.example" in await claims.inner_text()
    assert await page.locator("#ent-roles").inner_text() == "clinician, viewer"
    assert await page.locator("#ent-tier").inner_text() == "premium"
    assert await page.locator("#ent-programs").inner_text() == "none"
    await _checked(page, "signed-in")

    # play the IdP: a SCIM PATCH adds her to Beta testers; the live view shows program beta
    await page.get_by_role("button", name="Add me to Beta testers").click()
    await page.wait_for_url("**/demo?joined=*")
    await expect(page.locator("#ent-programs")).to_have_text("beta", timeout=15_000)
    assert await page.locator("#ent-source").inner_text() == "view"  # the SDK's local view
    await _checked(page, "group-added")

    # and out of Clinicians: the role and the tier go, still without a new sign-in
    await page.get_by_role("button", name="Remove me from Clinicians").click()
    await page.wait_for_url("**/demo?left=*")
    await expect(page.locator("#ent-roles")).to_have_text("viewer", timeout=15_000)
    assert await page.locator("#ent-tier").inner_text() == "basic"
    await _checked(page, "group-removed")
    await context.close()
