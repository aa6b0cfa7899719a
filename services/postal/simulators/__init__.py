"""The outside parties postal deals with, simulated for tests and the local stack: the carrier."""
