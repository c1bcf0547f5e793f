"""The GraphQL API: a thin layer over the domain functions, split by domain like the rest."""
