"""Channel errors, mapped from the SDKs' exceptions once, at the channel edge.

    ChannelError
     ├── BadSignature      the webhook is not from the platform: 4xx, nothing stored
     ├── NotConfigured     the channel's secrets are not set: 404
     └── DeliveryError     a send failed: ``permanent`` (never retry) or not, with ``retry_after``

A send raises ``DeliveryError``; the dispatcher (``bot.runtime.dispatcher``) is the only place that retries.
"""

from __future__ import annotations


class ChannelError(Exception):
    pass


class BadSignature(ChannelError):
    pass


class NotConfigured(ChannelError):
    pass


class DeliveryError(ChannelError):
    """A send failed. ``permanent``: never retry (blocked, bad request); ``retry_after``: seconds asked to wait."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
