"""Enumerations of RECIST 1.1 assessments and responses.

Source: Eisenhauer EA et al., "New response evaluation criteria in solid tumours: revised RECIST guideline
(version 1.1)", Eur J Cancer 2009;45:228-247, §4.3 (response criteria) and Tables 1-2; the values a case report
form captures follow clinical-spec §1.2.
"""

from enum import StrEnum


class TargetStatus(StrEnum):
    """How a target lesion was recorded at a follow-up time point (clinical-spec §1.2, D38)."""

    MEASURED = "MEASURED"
    TOO_SMALL_TO_MEASURE = "TOO_SMALL_TO_MEASURE"
    ABSENT = "ABSENT"
    NOT_EVALUATED = "NOT_EVALUATED"


class NonTargetStatus(StrEnum):
    """How a non-target lesion was recorded at a time point (clinical-spec §1.2).

    For a locally treated lesion (D5, D24) ``UNEQUIVOCAL_PROGRESSION`` records local failure.
    """

    ABSENT = "ABSENT"
    PRESENT = "PRESENT"
    UNEQUIVOCAL_PROGRESSION = "UNEQUIVOCAL_PROGRESSION"
    NOT_EVALUATED = "NOT_EVALUATED"


class NewLesionStatus(StrEnum):
    """A new lesion as recorded at one time point, and the time point's new-lesion result (§4.3.4).

    ``NO`` on a lesion means it was looked at and is not a new malignant lesion (e.g. an equivocal finding that
    resolved); it breaks the equivocal-then-confirmed chain of D27.
    """

    NO = "NO"
    YES = "YES"
    EQUIVOCAL = "EQUIVOCAL"


class TargetResponse(StrEnum):
    """Target-lesion response (Eisenhauer 2009 §4.3.1); ``NONE`` when there is no target disease."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"
    NONE = "NONE"


class NonTargetResponse(StrEnum):
    """Non-target response (Eisenhauer 2009 §4.3.3); ``NONE`` when no non-target lesion is assessable (D24)."""

    CR = "CR"
    NON_CR_NON_PD = "NON_CR_NON_PD"
    PD = "PD"
    NE = "NE"
    NONE = "NONE"


class OverallResponse(StrEnum):
    """Overall time-point response (Eisenhauer 2009 Tables 1 and 2) and best overall response (§4.4)."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    NON_CR_NON_PD = "NON_CR_NON_PD"
    PD = "PD"
    NE = "NE"
