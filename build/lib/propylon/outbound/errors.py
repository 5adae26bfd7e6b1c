"""The one error of the outbound guard."""

from __future__ import annotations

from propylon.errors import InvalidInput


class OutboundError(InvalidInput):
    """A request the guard refused or could not complete. ``reason`` is stable, for audits:
    ``invalid_url``, ``scheme_not_allowed``, ``private_address``, ``unresolvable``,
    ``too_many_redirects``, ``too_large``, ``timeout``, ``unreachable``, ``tls`` (the
    certificate does not verify for the host's name), ``transport``.

    It is an :class:`~propylon.errors.InvalidInput` because every URL the guard fetches came
    from configuration someone typed (a metadata URL, an issuer) or from a document such a URL
    served: refusing it is refusing that input, never a server fault."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
