"""Classification and fairness suites beside fairlearn."""
