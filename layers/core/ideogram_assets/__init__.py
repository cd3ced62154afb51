"""ideogram_assets: the core package shared by every function, the local stack and the tests."""

__version__ = "0.1.0"
