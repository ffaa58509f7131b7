"""Helpers every layer shares: atomic file writes, one-line error text, scratch folders."""
