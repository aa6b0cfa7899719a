"""The notification service: tells applicants by SMS and email what happens to their dossier, and asks
them to rate it."""
