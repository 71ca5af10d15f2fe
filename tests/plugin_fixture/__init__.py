"""A throwaway third-party connector (`site/kafkaish`), installed through an entry point by its test."""
