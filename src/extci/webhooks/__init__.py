"""Outgoing webhooks: subscriptions, the delivery outbox, signing, and the sending worker."""
