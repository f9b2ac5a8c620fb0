"""Data: Kaldi-style data directories, audio I/O, frame episodes and the embedded corpora."""
