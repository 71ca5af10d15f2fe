"""The one in-process HTTP server (uvicorn + ASGI) that http.listen routes and the
management API share.

May import: core, observe, errors.
"""
