"""Built-in augmenters. Plugins add more through the ``kgrec.augmenters`` entry point group."""
