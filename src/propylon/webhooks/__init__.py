"""Webhooks to endpoints the platform registers: Standard Webhooks signing
(``signing.py``), endpoints with sealed secrets (``endpoints.py``), and the feed hook that
turns each sequenced event into one delivery per matching endpoint (``hook.py``)."""
