"""`edgenats bench`: a raw-socket NATS load generator, its scenarios, reports and the --compare runner."""
