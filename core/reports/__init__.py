"""The hiring reports: the queries they need (``ports``) and the use cases that shape their answers (``hiring``)."""
