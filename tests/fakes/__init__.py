"""Local fake API servers (real HTTP on 127.0.0.1) that connector tests talk to over the network."""
