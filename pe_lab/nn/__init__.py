"""The network layers: packed layers (``layers``), their block masks (``masks``) and the architectures
built from a layer factory (``models``: LeNet, ResNet-20/18/50, WRN-28-10). Imports nothing of pe-lab above
``config`` and ``validate``."""
