"""The command-line interface: thin shells over the library."""
