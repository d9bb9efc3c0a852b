"""Renderers: one ticket event in each platform's native message format (pure functions, no HTTP).

`text` neutralises hostile ticket text (the part every platform shares), `summary` turns an event into
the few lines every message shows, and one module per platform lays them out within its limits.
"""
