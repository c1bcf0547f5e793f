"""Email: every email is written to a queue table in the transaction of the change it
announces (``queue``), then delivered from there with retries (``queue.deliver_due``) through
SMTP when configured, otherwise into an outbox folder (``outbox``)."""
