"""Transports of Flowengine, each a plug-in registered through the `flowengine.kinds`
entry-point group exactly as a third-party connector would be."""
