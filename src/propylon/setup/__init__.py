"""What a customer's IT admin is guided through when connecting an IdP: the test connection's
stages and their remedies, the per-IdP guides. Pure data and rules; the store of test results
is ``setup/tests_store.py``."""
