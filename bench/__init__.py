"""``make bench``: measure extci as a user runs it (see docs/performance.md)."""
