"""Built-in backbones. They register through entry points, like third-party ones."""
