"""WebSocket: the `websocket` listener for NATS clients, and the framing adapter that carries an
unchanged connection (client session or leaf link) over WebSocket messages."""
