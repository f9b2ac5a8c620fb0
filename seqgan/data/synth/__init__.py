"""Embedded corpora generated locally: synthetic noisy speech, bouncing balls, moving digits, Atari."""
