"""loglane: a Kafka-native log pipeline for microservices."""

__version__ = "0.1.0"
