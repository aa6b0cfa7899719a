"""Kafka helpers shared by the services."""
