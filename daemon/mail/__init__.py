"""Outgoing mail: composing it once, and the transports that deliver it."""
