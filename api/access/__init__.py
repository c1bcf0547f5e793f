"""Who is calling: API clients, their bearer tokens and roles, and the one policy that decides
what each role may see and do (api/access/policy.py)."""
