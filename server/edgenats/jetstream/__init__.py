"""JetStream: streams (limits, interest and workqueue retention, message TTLs), publish
acknowledgements, pull consumers, DIRECT.GET and the stream admin API, answered by internal
subscribers in each JetStream-enabled account."""
