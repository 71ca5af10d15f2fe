"""The `flowengine` command: main.py holds the app, one module per command group, loaded lazily.

May import anything in flowengine (it is the top of the stack).
"""
