"""Open Referral UK (HSDS 3.0 UK profile): Petunia's directory as open data."""
