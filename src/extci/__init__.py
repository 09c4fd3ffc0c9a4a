"""extci: connect external CI systems to the platform.

The base package (``pip install extci``) carries only the CI-side reporter and needs nothing
beyond the standard library; the server lives behind the ``server`` extra.
"""

__version__ = "0.1.0"
