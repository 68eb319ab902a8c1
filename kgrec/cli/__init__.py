"""The ``kgrec`` command line."""
