"""Petunia: software for local social prescribing."""
