"""Reading stored rows back, a page at a time: the queries they need (``ports``) and the use cases (``read``)."""
