"""Arrays: adding, removing and changing elements by position, set operations, offsets_of, sample and zip."""
