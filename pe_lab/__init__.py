"""pe-lab: an interactive teaching lab for Packed-Ensembles (Laurent et al., ICLR 2023).

The core (``layers``, ``masks``, ``models``, ``ensemble``, ``metrics``, ``train``, ``data``) imports no
plotting or widget library; ``viz`` and ``explorers`` are the teaching face on top of it.
"""

__version__ = "0.1.0"

from .config import get_device, is_quick, set_seed  # noqa: E402
from .layers import PackedConv2d, PackedLinear  # noqa: E402

__all__ = ["PackedConv2d", "PackedLinear", "__version__", "get_device", "is_quick", "set_seed"]
