"""The HTTP API (``slamdunk-lab serve``): the original project's endpoints and a versioned native API."""
