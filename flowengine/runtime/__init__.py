"""Running compiled graphs: the asyncio scheduler (flow.py), the engine that hosts
flows, in-flight slots, services shared by connectors, the state store, start-up.

May import: compile, core, expressions, observe, endpoints, formats, errors.
Never api, cli, lint.
"""
