"""Signals to the host platform about ended sessions and changed claims: OpenID Connect
Back-Channel Logout 1.0 as the OpenID Provider and a Shared Signals Framework 1.0
transmitter (CAEP 1.0), both materialised from the feed into the delivery queue."""
