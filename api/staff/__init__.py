"""Staff accounts: the people who use Petunia's pages (practice staff, link workers and their
coordinators, providers, commissioners, admins), their password-less sign-in (an emailed
one-time link, then TOTP) and their server-side sessions."""
