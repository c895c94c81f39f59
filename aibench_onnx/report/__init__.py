"""Renderers: turn result documents into terminal tables, Markdown and HTML. No computation here."""
