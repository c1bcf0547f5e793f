"""Outcomes: instruments (data, from directory_data/outcomes/), measurements taken for a
referral at a time point, NHS use before and after, and unmet need."""
