"""Sending email: through SMTP when configured, otherwise into an outbox folder (and the log)."""
