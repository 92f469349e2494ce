"""Delivery of queue messages to subscribers (webhooks and email)."""
