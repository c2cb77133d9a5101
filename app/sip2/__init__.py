"""SIP2 for vendors: accounts, patron verification and the TCP server."""
