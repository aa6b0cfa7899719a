"""The event contract (design.md): the CloudEvents envelope and the catalogue of every event type."""
