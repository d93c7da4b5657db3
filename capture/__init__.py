"""Serial capture of MEP traffic to pcapng."""
