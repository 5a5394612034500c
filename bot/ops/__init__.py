"""Running the product: the command line (`python -m bot ...`), the supervisor that starts the
servers and restarts any that dies, the nginx front for several servers, and retention
(`python -m bot purge`)."""
