"""The engine: the one pipeline every layer, map, whole-set pipeline and model
pairs batches through (input structures and checks, seeds, the switch and the
schedule's clock, the compiled draw and apply)."""
