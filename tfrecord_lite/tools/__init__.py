"""The command line and the tools that read a dataset back: inspect, verify, preview, index."""
