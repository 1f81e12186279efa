"""Decision spine: CLI start-up, audit verify over a long chain, API throughput."""
