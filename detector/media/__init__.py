"""Media handling shared by evidence, annotation and redaction: cutting by stream copy (and
proving it), so that no other module needs to know about packets and timestamps."""
