"""The NATS wire protocol without I/O: parsing of incoming operations and framing of outgoing ones."""
