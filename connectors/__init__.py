"""Connectors: plain Python, no Django.  Each turns one kind of source into records."""
