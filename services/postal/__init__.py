"""The postal service: picks dossiers up and delivers results by post, with carrier tracking."""
