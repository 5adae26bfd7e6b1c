"""What the OpenID Provider stores: its signing keys (sealed at rest, parsed once per
process) and the clients, codes and refresh tokens of its grants. ``provider/`` calls this and
builds no SQL itself."""
