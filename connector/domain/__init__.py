"""Pure domain: order lifecycle, mapping, retry policy. No I/O, nothing else of ours."""
