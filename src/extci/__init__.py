"""extci: connect external CI systems to the platform.

The base package carries only the CI-side reporter and needs nothing beyond the standard
library (the server serves it as a zipapp at ``/downloads/extci-report.pyz``); the server
lives behind the ``server`` extra.
"""

__version__ = "0.1.0"
