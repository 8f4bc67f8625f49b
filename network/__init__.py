"""Running the whole network on one machine: `make run` and its demo."""
