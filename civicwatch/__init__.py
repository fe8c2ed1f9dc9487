"""CivicWatch: civic-order violation detection for traffic footage."""

__version__ = "0.1.0"
