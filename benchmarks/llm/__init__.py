"""The LLM suite: its NumPy sentence encoder beside sentence-transformers."""
