"""Commissioning reports: figures, disclosure control, and their HTML/CSV rendering."""
