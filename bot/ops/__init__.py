"""Running the product: the command line (`python -m bot ...`), the supervisor that starts the
servers and restarts any that dies, and the nginx front for several servers."""
