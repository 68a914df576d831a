"""Offline local cloud: the real template, ASL and handlers on moto."""
