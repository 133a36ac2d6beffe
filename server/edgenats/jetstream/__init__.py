"""JetStream (level P1 of the spec): streams with limits retention, publish acknowledgements and the
stream admin API, answered by internal subscribers in each JetStream-enabled account."""
