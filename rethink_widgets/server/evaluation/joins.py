"""Joins: eq_join (through an index), inner_join and outer_join."""
