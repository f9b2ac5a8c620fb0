"""Metrics: speech quality (audio.py) and frame prediction (frames.py)."""
