"""netzone: the network-zone API of a library consortium."""
