"""Alerts (webhook)."""
