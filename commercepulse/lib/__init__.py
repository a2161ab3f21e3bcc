"""Small general-purpose helpers with no knowledge of the platform: days and windows, ids, time
parsing, the cyclic GC pause, the heap trim, worker processes, process identity."""
