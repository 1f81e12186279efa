"""The portfolio read-model behind `charter status`."""
