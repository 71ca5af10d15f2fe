"""Dead letters: messages the flow could not deliver, parked where someone can see them.

`store` keeps each one in the engine's SQLite store as a documented envelope
(the original message byte for byte, plus flow, revision, node, error,
attempts, failure times, trace id); `kind` is the `dead_letter` sink that parks
them; `replay` sends them back into their flow after a fix.
"""
