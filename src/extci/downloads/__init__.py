"""The server serves its own reporter: a zipapp of :mod:`extci.reporter` and the curl-only
shell script, under ``/downloads/``."""
