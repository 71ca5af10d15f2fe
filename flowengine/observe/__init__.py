"""Logs, metrics, OpenTelemetry and message tracing.

May import: core, errors.
"""
