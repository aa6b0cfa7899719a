"""The web console for staff: the live event stream, the accountability board, and for admins the dead letters
and blocked dossiers of every service with replay. No database and no consumer group: it reads the lifecycle
topics as an observer and calls the services' APIs with the staff member's own token."""
