"""Whole-installation operations: copy to PostgreSQL, back up and restore (``extci db``)."""
