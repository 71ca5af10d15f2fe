"""The types every stage shares: Message, Outcome, the node base classes, durations,
backoff and the 'module:ATTRIBUTE' target resolver.

May import: flowengine.errors and the standard library only.
"""
