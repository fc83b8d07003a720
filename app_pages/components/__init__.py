"""Pieces every lab page uses: the user-text escaper, the parameter tables, the data panel.

``text`` (``md_text``, ``show_error``), ``params`` (``Param``, ``ParamTable``, ``read_link``)
and ``data_panel`` (``DataPanel``: the "1 · Data" sidebar). Page scripts
(``app_pages/<lab>.py``) import from here; nothing here computes what the engine should,
and nothing under ``engine/`` or ``charts/`` imports this package.
"""
