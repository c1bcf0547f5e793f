"""The directory: localities, providers, venues, sessions and their schedules."""
