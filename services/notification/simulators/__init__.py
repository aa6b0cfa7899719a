"""Stand-ins for the outside world, for tests and the local stack: an SMS gateway speaking the providers'
protocols and an SMTP sink. Never used in production."""
