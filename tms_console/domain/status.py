"""The one status vocabulary of an integration: stored on its row, shown on its card, counted by the overview.

`IntegrationStatus` is the vocabulary. Two views of it keep the words API clients already rely on:
`CardStatus` (a provider card, also the REST list's `status`: an active integration reads
"connected", and a provider without a row may be "not_configured" or "coming_soon"), and
`OverviewBucket` (the admin overview's three columns).
"""

from __future__ import annotations

from enum import StrEnum


class IntegrationStatus(StrEnum):
    ACTIVE = "active"  # working; the row's default (the seed's schema)
    NEEDS_SETUP = "needs_setup"  # connected, but nobody picked where notifications go yet
    NEEDS_RECONNECT = "needs_reconnect"  # the provider (or our keyring) refuses the stored credentials
    DEGRADED = "degraded"  # deliveries failing for other reasons
    DISABLED = "disabled"  # by the provider or an admin
    NOT_CONNECTED = "not_connected"  # no row: nothing installed

    @classmethod
    def of_row(cls, stored: str, *, readable: bool, needs_target: bool) -> IntegrationStatus:
        """The status of a stored integration: credentials we cannot open mean reconnect; an active
        one without a picked target needs setup; an unknown stored word is treated as reconnect."""
        try:
            status = cls(stored)
        except ValueError:
            status = cls.NEEDS_RECONNECT
        if not readable or status is cls.NOT_CONNECTED:
            return cls.NEEDS_RECONNECT
        return cls.NEEDS_SETUP if status is cls.ACTIVE and needs_target else status

    @property
    def bucket(self) -> OverviewBucket:
        if self is IntegrationStatus.ACTIVE:
            return OverviewBucket.CONNECTED
        if self is IntegrationStatus.NOT_CONNECTED:
            return OverviewBucket.NOT_CONNECTED
        return OverviewBucket.NEEDS_ATTENTION

    @property
    def card(self) -> CardStatus:
        return CardStatus.CONNECTED if self is IntegrationStatus.ACTIVE else CardStatus(self.value)


class CardStatus(StrEnum):
    CONNECTED = "connected"  # IntegrationStatus.ACTIVE (the REST API's word since v1)
    NEEDS_SETUP = "needs_setup"
    NEEDS_RECONNECT = "needs_reconnect"
    DEGRADED = "degraded"
    DISABLED = "disabled"
    NOT_CONNECTED = "not_connected"
    NOT_CONFIGURED = "not_configured"  # no row, and this deployment has no credentials for the provider
    COMING_SOON = "coming_soon"  # no row, and the provider is not available yet


class OverviewBucket(StrEnum):
    CONNECTED = "connected"
    NEEDS_ATTENTION = "needs_attention"
    NOT_CONNECTED = "not_connected"
