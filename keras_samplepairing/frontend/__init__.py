"""The front end: options, input formats, checks, run-time state, and the one
path (``FrontEnd``) that every layer, map and model pairs batches through."""
