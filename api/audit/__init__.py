"""The audit log: who read or changed which protected record, and when. It holds identifiers
and actions, never the personal data itself."""
