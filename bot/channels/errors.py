"""Channel errors, mapped from the SDKs' exceptions once, at the channel edge.

    ChannelError
     ├── BadSignature      the webhook is not from the platform: 4xx, nothing stored
     └── NotConfigured     the channel's secrets are not set: 404

``bot.senders.DeliveryError`` (permanent or not, with ``retry_after``) is what a
send raises; the dispatcher is the only place that retries.
"""

from __future__ import annotations


class ChannelError(Exception):
    pass


class BadSignature(ChannelError):
    pass


class NotConfigured(ChannelError):
    pass
