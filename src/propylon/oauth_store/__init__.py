"""What the OpenID Provider stores: its signing keys (sealed at rest, parsed once per
process). ``provider/`` calls this and builds no SQL itself."""
