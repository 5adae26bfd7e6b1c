"""The accelerator: one small interface for replay cache, rate limits and revocation fan-out.

Production uses Redis (:mod:`propylon.cache.redis`); the embedded mode uses the in-process
implementation with the database as the durable replay store (:mod:`propylon.cache.local`).
"""

from propylon.cache.base import Accelerator, RateDecision

__all__ = ["Accelerator", "RateDecision"]
