"""GraphQL for commissioning reports: `commissioningReport`."""
