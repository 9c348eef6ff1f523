"""Adapters: the outside world (SQL, blob storage, the broker) behind the ports of ``core``."""
