"""The global event feed: every committed outbox event gets one global sequence number
(``events.gseq``), in an order consistent with every tenant's own ``seq``; hooks, the events
API and the SSE stream read it (``docs/events.md``)."""
