//! A fake Discord gateway (WebSocket) and REST API on 127.0.0.1 for end-to-end tests.
