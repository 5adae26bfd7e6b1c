"""SAML 2.0 service-provider building blocks, as pure functions.

Implements the SP side of the Web Browser SSO profile:

* SAML Core 2.0 (OASIS saml-core-2.0-os): assertions, protocol messages, §5 signatures;
* SAML Bindings 2.0 (saml-bindings-2.0-os): HTTP-POST §3.5 and HTTP-Redirect §3.4;
* SAML Profiles 2.0 (saml-profiles-2.0-os) §4.1.4 (response processing rules)
  and §4.4 (single logout);
* SAML Metadata 2.0 (saml-metadata-2.0-os);
* XML Signature 1.1 (restricted to the SAML profile, see :mod:`propylon.saml.dsig`),
  Exclusive XML Canonicalization 1.0, XML Encryption 1.1.

Nothing here performs I/O, keeps global state or reads the clock: callers pass
the configuration and ``now`` in and get typed results or a
:class:`SamlValidationError` out.
"""

from .errors import Reason, SamlValidationError
from .metadata import IdpMetadata, build_sp_metadata, parse_idp_metadata
from .model import Assertion, IdpTrust, InMemoryReplayCache, ReplayCache, ValidationPolicy
from .response import validate_response

__all__ = [
    "Assertion",
    "IdpMetadata",
    "IdpTrust",
    "InMemoryReplayCache",
    "Reason",
    "ReplayCache",
    "SamlValidationError",
    "ValidationPolicy",
    "build_sp_metadata",
    "parse_idp_metadata",
    "validate_response",
]
