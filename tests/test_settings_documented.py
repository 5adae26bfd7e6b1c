"""Every setting is listed in the README's tables (security choices are settings with safe
defaults, and an operator finds each one there)."""

from __future__ import annotations

from pathlib import Path

from propylon.settings import Settings


def test_every_setting_is_in_the_readme() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    missing = [
        f"PROPYLON_{name.upper()}"
        for name in Settings.model_fields
        if f"`PROPYLON_{name.upper()}`" not in readme
    ]
    assert missing == []
