"""What operators use: the services' admin endpoints on dead letters and blocked dossiers (`api`), and the pieces
of the `lienthong` command that watch the topics and call those endpoints."""
