"""curvine-py."""
