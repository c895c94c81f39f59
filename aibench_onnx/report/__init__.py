"""Renderers only: result documents to terminal tables, Markdown and HTML. tables.py holds one row model
per table, render.py renders any of them; the *_view modules render what is not a table. No computation here."""
