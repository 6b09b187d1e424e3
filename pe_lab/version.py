"""pe-lab's version, in a module that imports nothing: the build reads it statically, and a checkpoint or report
records it without importing the rest of the package."""

__version__ = "0.1.0"
