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


#: ``DeliveryError.reason``: the address is gone for good (a push subscription's 404 or 410): unlink it.
GONE = "gone"
#: ``DeliveryError.reason``: the account reached its monthly message limit (LINE's free plan: 200 pushes).
MONTHLY_LIMIT = "monthly_limit"


class DeliveryError(ChannelError):
    """A send failed. ``permanent``: never retry (blocked, bad request); ``retry_after``: seconds asked to wait;
    ``reason``: why, when the rest of the bot acts on it (``GONE``, ``MONTHLY_LIMIT``)."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.reason = reason
