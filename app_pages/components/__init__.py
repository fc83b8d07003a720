"""Pieces every lab page uses: the user-text escaper and the parameter tables.

Page scripts (``app_pages/<lab>.py``) import from here; nothing here computes what the
engine should, and nothing under ``engine/`` or ``charts/`` imports this package.
"""
