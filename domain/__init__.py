"""The hiring data dictionary: entities, the rules every row must meet, and domain errors."""
