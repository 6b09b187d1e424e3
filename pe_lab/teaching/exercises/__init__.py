"""Checkers for the notebooks' exercises: each says "right", or *what* is wrong and why, never the answer.

A checker returns a ``Check`` (truthy when right) whose text is meant to be read by a student. An answer that is
a function is tried on several settings, drawn so that no two classic mistakes cancel (``alpha^2 != M``,
non-square layers, more than one ``M``, ``gamma > 1``, odd channel counts, batch sizes other than ``M``); the
message names the first setting where it is wrong and, when it is a classic mistake, which one. A function that
*is* a library's (pe_lab, torch, torchmetrics, ...), or only calls the library's own answer to the exercise, is
refused: the exercise asks for the student's own. A fixed answer (a count, a mask) is graded only on a setting
where no classic mistake gives the same value; otherwise the checker asks for the formula as a function.
Instructors pass ``reveal=True`` (or set ``PE_LAB_INSTRUCTOR=1``) to see the expected answer as well.

One module per notebook's topic: ``grouped`` (01), ``masks`` (02), ``parameters`` (03), ``averaging`` (04),
``calibration`` (05), ``batch_ensemble`` (06), ``tutorial_loss`` (07), ``width`` (08); ``checking`` holds what
they share.
"""

from __future__ import annotations

from .averaging import ENSEMBLE_SETTINGS, check_ensemble_average, check_rules_differ
from .batch_ensemble import MEMBER_WEIGHT_SETTINGS, check_member_weight
from .calibration import ECE_SETTINGS, calibration_test_set, check_ece, ece_with_true_class_confidence
from .checking import INSTRUCTOR_ENV, LIBRARIES, Check
from .grouped import check_grouped_index, check_readers
from .masks import MASK_SETTINGS, check_mask
from .parameters import PARAM_SETTINGS, check_pe_params
from .tutorial_loss import TUTORIAL_SETTINGS, check_tutorial_loss
from .width import MEMBER_CHANNEL_CASES, check_member_channels

__all__ = [
    "ECE_SETTINGS", "ENSEMBLE_SETTINGS", "INSTRUCTOR_ENV", "LIBRARIES", "MASK_SETTINGS", "MEMBER_CHANNEL_CASES",
    "MEMBER_WEIGHT_SETTINGS", "PARAM_SETTINGS", "TUTORIAL_SETTINGS", "Check", "calibration_test_set", "check_ece",
    "check_ensemble_average", "check_grouped_index", "check_mask", "check_member_channels", "check_member_weight",
    "check_pe_params", "check_readers", "check_rules_differ", "check_tutorial_loss", "ece_with_true_class_confidence"]
