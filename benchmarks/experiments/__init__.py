"""What-if experiments: questions about changes to Charter, not benchmarks of it."""
