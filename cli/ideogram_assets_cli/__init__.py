"""`ideogram-assets`: the command line for the ideogram-assets API, local or deployed."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ideogram-assets")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
