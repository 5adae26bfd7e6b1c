"""The connection guides: one per IdP and protocol, every pasted value one the connection
has, every attribute name a guide promises read by the preset it names."""

from __future__ import annotations

import pytest

from propylon.setup import guides
from propylon.tenants import attribute_maps, oidc_presets
from propylon.tenants.oidc_connections import rp_urls
from propylon.tenants.saml_connections import sp_urls

IDPS = [key for key, _ in guides.IDPS]


@pytest.mark.parametrize("protocol", ["saml", "oidc"])
@pytest.mark.parametrize("idp", IDPS)
def test_every_idp_has_a_guide_per_protocol(protocol: str, idp: str) -> None:
    g = guides.guide(protocol, idp)
    assert (g.idp, g.protocol) == (idp, protocol)
    assert g.name == guides.idp_name(idp)
    assert g.steps and all(s.title and s.where and s.text for s in g.steps)
    assert g.bring_back


def test_the_named_vendors_are_all_there() -> None:
    names = {name for _, name in guides.IDPS}
    assert {"Okta", "Microsoft Entra ID", "Google Workspace", "OneLogin", "JumpCloud"} <= names
    assert "generic" in IDPS


def test_unknown_guides_are_refused() -> None:
    with pytest.raises(guides.UnknownGuide):
        guides.guide("saml", "pingone")
    with pytest.raises(guides.UnknownGuide):
        guides.guide("wsfed", "okta")
    with pytest.raises(guides.UnknownGuide):
        guides.idp_name("nope")


@pytest.mark.parametrize("idp", IDPS)
def test_saml_pastes_are_values_of_a_connection(idp: str) -> None:
    have = {**sp_urls("https://p.example", "conn_x"), "sp_entity_id": "e"}
    g = guides.guide("saml", idp)
    keys = [p.value for s in g.steps for p in s.pastes]
    assert {"acs_url", "sp_entity_id"} <= set(keys) or "sp_metadata_url" in keys
    assert set(keys) <= set(guides.SAML_VALUES) <= set(have)


@pytest.mark.parametrize("idp", IDPS)
def test_oidc_pastes_are_values_of_a_connection(idp: str) -> None:
    g = guides.guide("oidc", idp)
    keys = [p.value for s in g.steps for p in s.pastes]
    assert "redirect_uri" in keys
    assert set(keys) <= set(guides.OIDC_VALUES) <= set(rp_urls("https://p.example", "oidc_x"))


@pytest.mark.parametrize("idp", IDPS)
def test_saml_attribute_names_are_read_by_the_preset(idp: str) -> None:
    g = guides.guide("saml", idp)
    amap = attribute_maps.build_map(g.preset)
    fields = {a.field for a in g.attributes}
    assert "email" in fields
    for a in g.attributes:
        assert a.name in attribute_maps.names_for(amap, a.field), (idp, a)


@pytest.mark.parametrize("idp", IDPS)
def test_oidc_claim_names_are_read_by_the_preset(idp: str) -> None:
    g = guides.guide("oidc", idp)
    cmap = oidc_presets.build_claim_map(g.preset)
    assert "email" in {a.field for a in g.attributes}
    for a in g.attributes:
        assert a.name in attribute_maps.names_for(cmap, a.field), (idp, a)
    assert g.issuer_hint.startswith("https://")


def test_filled_pastes_carry_the_connection_values() -> None:
    g = guides.guide("saml", "okta")
    step = next(s for s in g.steps if s.pastes)
    values = {"acs_url": "https://p.example/saml/conn_1/acs", "sp_entity_id": "urn:x"}
    got = guides.filled(step, values, "saml")
    assert [(f.key, f.idp_field, f.value) for f in got] == [
        ("acs_url", "Single sign-on URL", "https://p.example/saml/conn_1/acs"),
        ("sp_entity_id", "Audience URI (SP Entity ID)", "urn:x"),
    ]
    assert got[0].label == guides.SAML_VALUES["acs_url"]
    assert guides.filled(step, {}, "saml") == []


def test_files_without_metadata_url_say_upload() -> None:
    for idp in ("google", "jumpcloud"):
        g = guides.guide("saml", idp)
        assert not g.metadata_by_url and "file" in g.bring_back
