"""The customer's IT admin's setup portal, without an account: single-use, short-lived,
revocable links scoped to one tenant and some intents (``links.py``), and the browser session
a link opens. No web framework here: the pages are ``api/portal_*.py``."""
