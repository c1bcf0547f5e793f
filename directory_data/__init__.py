"""The shipped demo directory (Anytown), its taxonomy, the outcome instruments and the report
defaults: data, not code (the format is in README.md beside this file). A package only so
that it installs with Petunia: ``petunia up`` and ``petunia report`` read it from here."""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
