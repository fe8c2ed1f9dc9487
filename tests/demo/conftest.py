"""Demo tests share the session-wide ``demo_footage`` fixture from tests/conftest.py."""
