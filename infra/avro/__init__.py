"""Backup files in Avro, written and read with fastavro."""
