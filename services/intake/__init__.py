"""The intake service: receives dossiers from every channel, codes them, sets the appointment date,
serves public tracking."""
