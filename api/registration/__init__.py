"""Self-registration and listing upkeep: the registration form's answers, confirmation by
email, the lead providers' moderation queue, edit links, reminders, the monthly prize draw,
problem reports and the spreadsheet import. Plain functions over an ``orm.Session``; the
HTML pages (api/web/), GraphQL (api/graphql/registration/) and CLI call them."""
