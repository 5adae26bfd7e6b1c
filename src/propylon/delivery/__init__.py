"""The delivery queue: at-least-once, ordered per key, retried, logged, dead-lettered,
replayable (see :mod:`propylon.delivery.model`)."""
