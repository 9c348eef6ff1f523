"""Loading CSV sources and batches of rows into the hiring tables: reading, the loader, the jobs that run it."""
