"""Explorers refuse values their widgets would clamp."""

from __future__ import annotations

import pytest
from helpers import random_probs

pytestmark = pytest.mark.usefixtures("private_cache")  # decode into a cache of its own, no $PE_LAB_DATA


def test_explorer_update_refuses_values_its_widgets_would_clamp():
    from pe_lab.teaching.explorers import mask_explorer, ood_explorer

    _, update = mask_explorer()
    with pytest.raises(ValueError, match=r"num_estimators=0 is outside this explorer's range \[1, "):
        update(num_estimators=0)
    with pytest.raises(ValueError, match="alpha=1.25 is not on the slider's grid"):
        update(alpha=1.25)
    with pytest.raises(ValueError, match="gamma must be an integer"):
        update(gamma=1.5)
    member = random_probs(40, 10).reshape(20, 2, 10)
    _, update_ood = ood_explorer({"PE": (member, member.flip(0))})
    with pytest.raises(ValueError, match=r"criterion='energy' is not one of \['msp'"):
        update_ood(criterion="energy")
