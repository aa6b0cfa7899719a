"""The routing service: moves each accepted dossier through its procedure's agencies, with per-step
deadlines and accountability."""
